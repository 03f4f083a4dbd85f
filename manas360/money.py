"""Money display shared by every app: paise are authoritative, rupees are for people."""


def rupees(amount_paise: int) -> int | float:
    """Paise to a rupee number for display fields (whole rupees stay integers)."""
    return amount_paise // 100 if amount_paise % 100 == 0 else amount_paise / 100
