from django.urls import path

from analytics import views

urlpatterns = [
    path("analytics/overview", views.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/sessions", views.SessionsView.as_view(), name="analytics-sessions"),
    path("analytics/outcomes", views.OutcomesView.as_view(), name="analytics-outcomes"),
    path("analytics/dashboard", views.DashboardView.as_view(), name="analytics-dashboard"),
    path("admin/analytics/dashboard", views.DashboardView.as_view(), name="admin-analytics-dashboard"),
    path("analytics/reports/<str:report_type>", views.ReportView.as_view(), name="analytics-report"),
    path("analytics/export", views.ExportView.as_view(), name="analytics-export"),
    path("analytics/export/excel", views.ExcelExportView.as_view(), name="analytics-export-excel"),
    path("analytics/export/pdf", views.PdfExportView.as_view(), name="analytics-export-pdf"),
    path("analytics/assessments", views.AssessmentView.as_view(), name="analytics-assessments"),
]
