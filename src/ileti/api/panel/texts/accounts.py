"""The admin's list of accounts."""

TEXTS: dict[str, tuple[str, str]] = {
    "nav.accounts": ("Hesaplar", "Accounts"),
    "accounts.title": ("Hesaplar", "Accounts"),
    "accounts.name": ("Ad", "Name"),
    "accounts.key": ("API anahtarı", "API key"),
    "accounts.balance": ("Bakiye", "Balance"),
    "accounts.blacklist": ("Kara liste", "Blacklist"),
    "accounts.api_access": ("API erişimi", "API access"),
    "accounts.shown": ("Gösterilen", "Shown"),
    "accounts.show": ("{name} hesabını göster", "Show {name}"),
    "accounts.current": ("gösteriliyor", "shown now"),
    "accounts.more": (
        "İlk {n} hesap listelendi; diğerlerini üstteki alana anahtarını yazarak açın.",
        "The first {n} accounts are listed; open the others by key in the field above.",
    ),
}
