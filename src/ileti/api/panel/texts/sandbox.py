"""Sandbox control: fault rules and delivery control."""

TEXTS: dict[str, tuple[str, str]] = {
    "sandbox.title": ("Sandbox denetimi", "Sandbox control"),
    "sandbox.faults": ("Hata kuralları", "Fault rules"),
    "sandbox.faults_intro": (
        "ileti bilerek hata yapar: istemcinizin hata işleyişini denemek için. Kurallar "
        "bütün sunuculara uygulanır.",
        "ileti misbehaves on purpose, to test your client's error handling. Rules apply "
        "on every instance.",
    ),
    "sandbox.no_rules": ("Hata kuralı yok.", "No fault rules."),
    "sandbox.kind": ("Tür", "Kind"),
    "sandbox.kind.api": ("API yanıtı", "API answer"),
    "sandbox.kind.recipient": ("Alıcı", "Recipient"),
    "sandbox.kind.webhook": ("Webhook", "Webhook"),
    "sandbox.scope": ("Kapsam", "Scope"),
    "sandbox.scope.account": ("Bu hesap", "This account"),
    "sandbox.scope.global": ("Bütün hesaplar", "Every account"),
    "sandbox.target": ("Hedef", "Target"),
    "sandbox.effect": ("Etki", "Effect"),
    "sandbox.every_action": ("Her işlem", "Every action"),
    "sandbox.webhook_url": ("Webhook adresi", "Webhook URL"),
    "sandbox.timeout_effect": ("Zaman aşımı", "Time-out"),
    "sandbox.latency_effect": ("+{ms} ms", "+{ms} ms"),
    "sandbox.remaining": ("Kalan kullanım", "Uses left"),
    "sandbox.always": ("Sınırsız", "Unlimited"),
    "sandbox.probability": ("Olasılık", "Probability"),
    "sandbox.expires": ("Bitiş", "Expires"),
    "sandbox.never": ("Yok", "Never"),
    "sandbox.spent": ("bitti", "spent"),
    "sandbox.remove": ("Kaldır", "Remove"),
    "sandbox.remove_rule": ("{id} numaralı kuralı kaldır", "Remove rule {id}"),
    "sandbox.add": ("Kural ekle", "Add a rule"),
    "sandbox.add_submit": ("Kuralı ekle", "Add the rule"),
    "sandbox.action": ("İşlem (API)", "Action (API)"),
    "sandbox.action_hint": ("Yalnızca API kuralları için.", "API rules only."),
    "sandbox.code": ("Kod", "Code"),
    "sandbox.code_hint": (
        "API: hata kodu (örn. 429, 503). Alıcı: 112 ya da 110. Webhook: HTTP durumu (örn. 500).",
        "API: an error code (e.g. 429, 503). Recipient: 112 or 110. Webhook: an HTTP status "
        "(e.g. 500).",
    ),
    "sandbox.pattern": ("Alıcı deseni", "Recipient pattern"),
    "sandbox.pattern_hint": (
        "Yalnızca alıcı kuralları: bir numara ya da * ve ? içeren bir desen (örn. 0532*).",
        "Recipient rules only: a number, or a pattern with * and ? (e.g. 0532*).",
    ),
    "sandbox.remaining_hint": (
        "Sonraki N eşleşmeye uygulanır; boş: hepsine.",
        "Applies to the next N matches; empty: to all.",
    ),
    "sandbox.probability_hint": ("0 ile 1 arası; boş: her zaman.", "From 0 to 1; empty: always."),
    "sandbox.latency_ms": ("Gecikme (ms)", "Latency (ms)"),
    "sandbox.latency_hint": ("Yalnızca API kuralları.", "API rules only."),
    "sandbox.ttl_seconds": ("Süre (saniye)", "Lifetime (seconds)"),
    "sandbox.ttl_hint": ("Boş: süresiz.", "Empty: no expiry."),
    "sandbox.timeout": (
        "Webhook zaman aşımına uğrasın (kod yerine)",
        "The webhook times out (instead of a code)",
    ),
    "sandbox.bad_kind": ("Bir tür seçin.", "Choose a kind."),
    "sandbox.bad_action": (
        "Listeden bir işlem seçin; yalnızca API kuralları içindir.",
        "Choose an action from the list; for API rules only.",
    ),
    "sandbox.bad_code": (
        "Bu tür için geçerli bir kod girin (API: katalogdaki bir hata kodu; alıcı: 110 ya da "
        "112; webhook: başarı olmayan bir HTTP durumu ya da zaman aşımı).",
        "Enter a code valid for this kind (API: an error code of the catalogue; recipient: "
        "110 or 112; webhook: a non-success HTTP status, or the time-out).",
    ),
    "sandbox.bad_pattern": (
        "Bir Türk cep numarası ya da yalnızca +, rakam, * ve ? içeren bir desen girin "
        "(yalnızca alıcı kuralları).",
        "Enter a Turkish mobile number or a pattern of +, digits, * and ? (recipient rules only).",
    ),
    "sandbox.bad_remaining": (
        "1 ile 1.000.000 arası bir tam sayı.",
        "A whole number from 1 to 1,000,000.",
    ),
    "sandbox.bad_probability": ("0 ile 1 arası bir sayı.", "A number from 0 to 1."),
    "sandbox.bad_latency_ms": (
        "1 ile 30.000 arası bir tam sayı (yalnızca API kuralları).",
        "A whole number from 1 to 30,000 (API rules only).",
    ),
    "sandbox.bad_ttl_seconds": ("0'dan büyük, en çok bir yıl.", "More than 0, at most a year."),
    "sandbox.bad_timeout": (
        "Zaman aşımı yalnızca webhook kuralları içindir.",
        "A time-out is for webhook rules only.",
    ),
    "sandbox.bad_scope": (
        "Bütün hesaplara kuralı yalnızca yönetici ekler.",
        "Only the admin adds a rule for every account.",
    ),
    "sandbox.too_many": (
        "Bu hesabın kural sınırı doldu; önce birkaçını kaldırın.",
        "This account has too many rules; remove some first.",
    ),
    "sandbox.fault_added": ("Kural eklendi.", "Rule added."),
    "sandbox.fault_removed": ("Kural kaldırıldı.", "Rule removed."),
    "sandbox.delivery": ("Teslim denetimi", "Delivery control"),
    "sandbox.delivery_intro": (
        "Mesajların operatörde nasıl ilerleyeceği (bundan sonra gönderilen siparişler için).",
        "How messages progress at the carrier (for orders dispatched from now on).",
    ),
    "sandbox.delivery_now": ("Şu an:", "Now:"),
    "sandbox.mode": ("Kip", "Mode"),
    "sandbox.mode_name.delay": ("Gecikmeli", "Delay"),
    "sandbox.mode_name.polls": ("Sorgu sayısıyla", "After get-report polls"),
    "sandbox.mode_name.manual": ("Elle", "Manual"),
    "sandbox.mode_name.default": ("Sunucunun varsayılanı", "The server's default"),
    "sandbox.mode.delay": ("{after} saniye sonra sonuçlanır", "final after {after} seconds"),
    "sandbox.mode.polls": (
        "{after} get-report sorgusundan sonra sonuçlanır",
        "final after {after} get-report polls",
    ),
    "sandbox.mode.manual": ("yalnızca ilerletince sonuçlanır", "final only when advanced"),
    "sandbox.mode.default": (
        "varsayılan: {default} saniye sonra",
        "default: after {default} seconds",
    ),
    "sandbox.after": ("Değer", "Value"),
    "sandbox.after_hint": (
        "Gecikmeli: saniye (0–86400). Sorgu sayısıyla: sorgu sayısı (1–1000). Diğerlerinde boş.",
        "Delay: seconds (0–86400). Polls: a number of polls (1–1000). Empty otherwise.",
    ),
    "sandbox.bad_mode": ("Listeden bir kip seçin.", "Choose a mode from the list."),
    "sandbox.bad_after": (
        "Bu kip için geçerli bir değer girin (gecikme: 0–86400 saniye; sorgu: 1–1000).",
        "Enter a value valid for this mode (delay: 0–86400 seconds; polls: 1–1000).",
    ),
    "sandbox.delivery_saved": ("Teslim kipi kaydedildi.", "Delivery mode saved."),
    "sandbox.advance": ("Şimdi ilerlet", "Advance now"),
    "sandbox.advance_intro": (
        "Hesabın bekleyen siparişlerini (ya da birini) şimdi gönderir ve bekleyen mesajlarını "
        "sonuçlandırır.",
        "Dispatches the account's waiting orders (or one) now and finalises their waiting "
        "messages.",
    ),
    "sandbox.order": ("Sipariş numarası", "Order id"),
    "sandbox.order_hint": ("Boş: bütün siparişler.", "Empty: every order."),
    "sandbox.status": ("Sonuç", "Outcome"),
    "sandbox.status.policy": ("Operatörün kuralına göre", "By the carrier's policy"),
    "sandbox.status.111": ("111 İletildi", "111 Delivered"),
    "sandbox.status.112": ("112 İletilemedi", "112 Undelivered"),
    "sandbox.bad_status": ("Listeden bir sonuç seçin.", "Choose an outcome from the list."),
    "sandbox.bad_order": ("Bu hesabın böyle bir siparişi yok.", "This account has no such order."),
    "sandbox.advance_submit": ("İlerlet", "Advance"),
    "sandbox.advanced": (
        "{orders} sipariş gönderildi; {messages} mesaja bakıldı: {delivered} iletildi, "
        "{undelivered} iletilemedi, {waiting} bekliyor.",
        "{orders} order(s) dispatched; {messages} message(s) looked at: {delivered} delivered, "
        "{undelivered} undelivered, {waiting} waiting.",
    ),
}
