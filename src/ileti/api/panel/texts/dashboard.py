"""The dashboard."""

TEXTS: dict[str, tuple[str, str]] = {
    "dashboard.title": ("Özet", "Dashboard"),
    "dashboard.balance": ("Bakiye", "Balance"),
    "dashboard.credits": ("{n} kredi", "{n} credits"),
    "dashboard.blacklist": ("Kara listedeki numara", "Blacklisted numbers"),
    "dashboard.orders_today": ("Bugünkü siparişler", "Orders today"),
    "dashboard.messages_today": ("Bugünkü mesajlar", "Messages today"),
    "dashboard.api_access": ("API erişimi", "API access"),
    "dashboard.failures": ("Son hatalar", "Recent failures"),
    "dashboard.failed_webhooks": ("Başarısız webhook'lar", "Failed webhooks"),
    "dashboard.refusals": ("Reddedilen API istekleri", "Refused API requests"),
    "dashboard.refusals_note": (
        "Bu sunucunun açılışından beri, en yeniler önce.",
        "Since this server started, newest first.",
    ),
    "dashboard.no_failures": ("Hata yok.", "No failures."),
    "dashboard.when": ("Zaman", "When"),
    "dashboard.action": ("İşlem", "Action"),
    "dashboard.code": ("Kod", "Code"),
    "dashboard.cause": ("Neden", "Cause"),
    "dashboard.address": ("Adres", "Address"),
    "dashboard.url": ("Adres", "URL"),
    "dashboard.error": ("Hata", "Error"),
    "dashboard.no_account": (
        "Henüz hesap yok. `ileti account create` ile bir hesap oluşturun.",
        "No account yet. Create one with `ileti account create`.",
    ),
    "cause.wrong hash": ("yanlış hash", "wrong hash"),
    "cause.API access off": ("API erişimi kapalı", "API access off"),
    "cause.address outside the allow-list": (
        "adres izinli IP listesinde değil",
        "address outside the allow-list",
    ),
}
