"""The settings pages: access permissions, API keys, sending settings."""

TEXTS: dict[str, tuple[str, str]] = {
    # -- access permissions ------------------------------------------------------------
    "access.title": ("Erişim İzinleri", "Access Permissions"),
    "access.trail": (
        "Ayarlar → Güvenlik → Erişim İzinleri",
        "Settings → Security → Access Permissions",
    ),
    "access.api_access": ("API kullanımına izin ver", "Allow API access"),
    "access.api_access_hint": (
        "Kapalıyken bu hesabın her API çağrısı 401 (yetkisiz) ile yanıtlanır.",
        "While it is off, every API call of this account is answered 401 (unauthorised).",
    ),
    "access.allow_ips": ("Sabit IP izin listesi", "Fixed-IP allow-list"),
    "access.allow_ips_hint": (
        "Her satıra bir giriş ya da virgülle ayrılmış: IPv4, IPv6 adresi ya da CIDR "
        "(ör. 192.0.2.10, 2001:db8::/32, 10.0.0.0/8). Boş bırakılırsa her adresten "
        "gelen çağrı kabul edilir; doluysa listede olmayan adreslerin çağrıları 401 alır.",
        "One entry a line, or separated by commas: an IPv4 or IPv6 address or a CIDR "
        "(e.g. 192.0.2.10, 2001:db8::/32, 10.0.0.0/8). Empty: calls from any address are "
        "accepted; otherwise calls from addresses outside the list get 401.",
    ),
    "access.bad_entry": (
        "Geçerli bir IP adresi ya da CIDR değil: {entries}",
        "Not an IP address or CIDR: {entries}",
    ),
    "access.propagation": (
        "Bir değişiklik bu sunucuda hemen, diğer sunucularda en geç {seconds} saniye "
        "içinde geçerli olur (ILETI_AUTH_REFRESH_SECONDS).",
        "A change applies at once on this server and within {seconds} seconds on every "
        "other instance (ILETI_AUTH_REFRESH_SECONDS).",
    ),
    "access.propagation_off": (
        "Bir değişiklik bu sunucuda hemen geçerli olur; diğer sunucular değişiklikleri "
        "izlemiyor (ILETI_AUTH_REFRESH_SECONDS=0: yalnızca tek sunucu için).",
        "A change applies at once on this server; other instances do not watch for "
        "changes (ILETI_AUTH_REFRESH_SECONDS=0: a single process only).",
    ),
    "access.your_address": ("Panelin gördüğü adresiniz", "Your address as the panel sees it"),
    "access.your_address_hint": (
        "API çağrılarınız başka bir makineden geliyorsa o makinenin adresini ekleyin.",
        "If your API calls come from another machine, add that machine's address.",
    ),
    "access.unknown_address": ("bilinmiyor", "unknown"),
    "access.current": ("Şu anki durum", "Current state"),
    "access.any_address": ("her adres", "any address"),
    # -- API keys ----------------------------------------------------------------------
    "keys.title": ("API anahtarları", "API keys"),
    "keys.key": ("API anahtarı (key)", "API key"),
    "keys.hash_note": (
        "API hash'i sunucuda saklanmaz (yalnızca SHA-256 özeti tutulur), bu yüzden "
        "yeniden gösterilemez. Kaybettiyseniz aşağıdan yenileyin.",
        "The API hash is not kept on the server (only its SHA-256 digest is), so it "
        "cannot be shown again. If you have lost it, rotate it below.",
    ),
    "keys.rotate_title": ("Gizli anahtarı yenile", "Rotate the secret"),
    "keys.rotate_text": (
        "Yeni bir gizli anahtar ve hash üretilir ve yalnızca bir kez gösterilir. Eski hash "
        "hemen çalışmayı bırakır: onu kullanan her entegrasyon 401 alır.",
        "A new secret and hash are made and shown once. The old hash stops working at "
        "once: every integration still using it gets 401.",
    ),
    "keys.confirm": (
        "Eski hash'in hemen çalışmayı bırakacağını anlıyorum",
        "I understand the old hash stops working at once",
    ),
    "keys.confirm_required": (
        "Yenilemek için bu kutuyu işaretleyin.",
        "Tick this box to rotate.",
    ),
    "keys.rotate": ("Yenile", "Rotate"),
    "keys.stale": (
        "Anahtar bu sayfa açıldıktan sonra zaten yenilenmiş; yeniden yenilenmedi. Yeni "
        "hash'i kaydetmediyseniz yeniden yenileyin.",
        "The key was already rotated after this page was opened; it was not rotated again. "
        "If you did not note the new hash, rotate again.",
    ),
    "keys.rotated_title": ("Yeni API bilgileri", "New API credentials"),
    "keys.rotated_once": (
        "Bu bilgiler yalnızca şimdi gösterilir ve bir daha gösterilmez. Şimdi kopyalayıp "
        "güvenli bir yere kaydedin. Eski hash artık çalışmıyor.",
        "These are shown now and never again. Copy them somewhere safe now. The old hash "
        "no longer works.",
    ),
    "keys.secret": ("Gizli anahtar (secret)", "Secret"),
    "keys.hash": ("API hash", "API hash"),
    "keys.curl": ("Denemek için (bakiye sorgusu)", "To try it (balance query)"),
    "keys.back": ("API anahtarları sayfasına dön", "Back to API keys"),
    # -- sending settings ----------------------------------------------------------------
    "sending.title": ("Gönderim ayarları", "Sending settings"),
    "sending.senders": ("Gönderici adları", "Senders"),
    "sending.sender": ("Gönderici adı", "Sender"),
    "sending.actions": ("İşlem", "Action"),
    "sending.no_senders": (
        "Henüz gönderici adı yok: bir ad eklenmeden SMS gönderilemez.",
        "No sender yet: no SMS can be sent until one is added.",
    ),
    "sending.remove": ("Kaldır", "Remove"),
    "sending.removed": ("Gönderici adı kaldırıldı.", "Sender removed."),
    "sending.new_sender": ("Yeni gönderici adı", "New sender"),
    "sending.new_sender_hint": (
        "En çok 11 karakter; Türkçe harf ve kontrol karakteri olmadan.",
        "At most 11 characters; no Turkish letters, no control characters.",
    ),
    "sending.add": ("Ekle", "Add"),
    "sending.added": ("Gönderici adı eklendi.", "Sender added."),
    "sending.bad_sender": (
        "Gönderici adı 1 ile 11 karakter arasında olmalı, Türkçe harf içermemeli.",
        "A sender is 1 to 11 characters, without Turkish letters.",
    ),
    "sending.sender_exists": ("Bu gönderici adı zaten listede.", "This sender is already listed."),
    "sending.settings": ("Ayarlar", "Settings"),
    "sending.brand_code": ("İYS marka kodu", "İYS brand code"),
    "sending.brand_code_hint": (
        "Ticari ileti gönderimlerinde kullanılır; boş bırakılabilir.",
        "Used for commercial messages; may be left empty.",
    ),
    "sending.bad_brand_code": ("En çok 64 karakter.", "At most 64 characters."),
    "sending.test_number": ("Test numarası", "Test number"),
    "sending.test_number_hint": (
        "Doluysa gönderimler yalnızca bu numaraya iletilir (ör. 0533 000 00 99).",
        "When set, messages are delivered to this number only (e.g. 0533 000 00 99).",
    ),
    "sending.bad_test_number": (
        "Geçerli bir Türkiye cep telefonu numarası değil.",
        "Not a Turkish mobile number.",
    ),
    "sending.webhook_url": ("Webhook adresi", "Webhook URL"),
    "sending.webhook_url_hint": (
        "İletim raporları bu adrese POST edilir (http:// ya da https://). Boş: gönderilmez.",
        "Delivery reports are POSTed here (http:// or https://). Empty: none are sent.",
    ),
    "sending.bad_webhook_url": (
        "Adres http://sunucu/... ya da https://sunucu/... biçiminde olmalı.",
        "The URL must be http://host/... or https://host/....",
    ),
    "sending.rate_limit": ("Hız sınırı (alıcı/saniye)", "Rate limit (recipients per second)"),
    "sending.rate_limit_hint": (
        "1 ile {max} arasında tam sayı; boş: sunucunun varsayılanı.",
        "A whole number from 1 to {max}; empty: the server's default.",
    ),
    "sending.bad_rate_limit": (
        "1 ile {max} arasında bir tam sayı girin.",
        "Enter a whole number from 1 to {max}.",
    ),
    "sending.short_code": ("Kısa numara", "Short code"),
    "sending.short_code_hint": (
        "Gelen ret (opt-out) mesajlarının gönderildiği 3–8 haneli numara; boş bırakılabilir.",
        "Where inbound opt-outs are sent: 3 to 8 digits; may be left empty.",
    ),
    "sending.bad_short_code": ("3 ile 8 rakam arasında olmalı.", "3 to 8 digits."),
    "sending.balance": ("Bakiye (kredi)", "Balance (credits)"),
    "sending.balance_hint": (
        "Yalnızca yöneticiler değiştirebilir.",
        "Only an admin can change it.",
    ),
    "sending.bad_balance": (
        "0 ile {max} arasında bir tam sayı girin.",
        "Enter a whole number from 0 to {max}.",
    ),
    "sending.credits": ("{n} kredi", "{n} credits"),
    "sending.webhooks": ("Son webhook denemeleri", "Recent webhook attempts"),
    "sending.webhooks_note": (
        "En yeniler önce, en çok {n} deneme.",
        "Newest first, at most {n} attempts.",
    ),
    "sending.no_attempts": ("Henüz webhook denemesi yok.", "No webhook attempt yet."),
    "sending.when": ("Zaman", "When"),
    "sending.url": ("Adres", "URL"),
    "sending.http_status": ("HTTP durumu", "HTTP status"),
    "sending.no_answer": ("yanıt yok", "no answer"),
    "sending.error": ("Hata", "Error"),
    "sending.outcome": ("Sonuç", "Outcome"),
    "outcome.delivered": ("iletildi", "delivered"),
    "outcome.failed": ("başarısız, yeniden denenecek", "failed, to be retried"),
    "outcome.given_up": ("başarısız, vazgeçildi", "failed, given up"),
    "outcome.retried": ("başarısız, yeniden denendi", "failed, retried"),
}
