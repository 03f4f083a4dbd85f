from manas360.api.errors import ApplicationError, NotFound


class InvalidDateRange(ApplicationError):
    code = "invalid_date_range"
    default_message = "The date range is not valid."


class UnknownReportType(NotFound):
    default_message = "Unknown report type."
