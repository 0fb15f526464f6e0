"""The Consents page (İYS): brand code, search and history, add, CSV import."""

TEXTS: dict[str, tuple[str, str]] = {
    "nav.consents": ("İYS izinleri", "Consents"),
    "consents.title": ("İYS izinleri", "İYS consents"),
    "consents.intro": (
        "İleti Yönetim Sistemi'ne (İYS) bildirilen izinler: iys=1 ile gönderimde izni "
        "olmayan numaralara mesaj gitmez.",
        "Consents recorded for the İYS registry: with iys=1, messages are not sent to "
        "numbers without consent.",
    ),
    "consents.brand_code": ("İYS marka kodu", "İYS brand code"),
    "consents.no_brand": (
        "Bu hesabın İYS marka kodu yok: marka kodu girilene kadar consent/create 403 "
        "yanıtı verir ve buradan izin eklenemez.",
        "This account has no İYS brand code: until one is set, consent/create answers "
        "403 and no consent can be added here.",
    ),
    "consents.no_brand_link": (
        "Marka kodunu Gönderim ayarlarından girin.",
        "Set the brand code in Sending settings.",
    ),
    "consents.no_brand_short": (
        "Önce Gönderim ayarlarından bir İYS marka kodu girin.",
        "Set an İYS brand code in Sending settings first.",
    ),
    "consents.search": ("Alıcı ara", "Find a recipient"),
    "consents.search_label": ("Telefon numarası ya da e-posta", "Phone number or e-mail"),
    "consents.search_hint": (
        "Numara her biçimde olur: 0533 123 45 67, +90 533 123 45 67, 905331234567.",
        "A number in any form: 0533 123 45 67, +90 533 123 45 67, 905331234567.",
    ),
    "consents.none": ("{recipient} için izin kaydı yok.", "No consent record for {recipient}."),
    "consents.current": ("Güncel durum", "Current status"),
    "consents.history": (
        "{recipient} kayıt geçmişi (en yeni önce)",
        "History of {recipient} (newest first)",
    ),
    "consents.brand": ("Marka kodu", "Brand code"),
    "consents.recipient": ("Alıcı", "Recipient"),
    "consents.recipient_hint": (
        "Cep telefonu (MESAJ, ARAMA) ya da e-posta adresi (EPOSTA).",
        "A mobile number (MESAJ, ARAMA) or an e-mail address (EPOSTA).",
    ),
    "consents.recipient_type": ("Alıcı tipi", "Recipient type"),
    "consents.type": ("İzin tipi", "Consent type"),
    "consents.status": ("Durum", "Status"),
    "consents.source": ("Kaynak", "Source"),
    "consents.no_source": ("Yok (yalnız TACIR)", "None (TACIR only)"),
    "consents.consent_date": ("İzin tarihi", "Consent date"),
    "consents.date_hint": (
        "YYYY-AA-GG SS:DD:ss, İstanbul saati; en çok 3 iş günü önce.",
        "YYYY-MM-DD HH:MM:SS, Istanbul time; at most 3 business days ago.",
    ),
    "consents.recorded_at": ("Kaydedilme", "Recorded at"),
    "consents.origin": ("Geliş yolu", "Origin"),
    "consents.origin.api": ("API", "API"),
    "consents.origin.cli": ("Komut satırı", "Command line"),
    "consents.origin.import": ("Komut satırı (içe aktarma)", "Command line (import)"),
    "consents.origin.inbound": ("RET SMS (3338)", "RET SMS (3338)"),
    "consents.origin.panel": ("Panel", "Panel"),
    "consents.add": ("İzin ekle", "Add a consent"),
    "consents.add_submit": ("İzni kaydet", "Record the consent"),
    "consents.added": ("İzin kaydedildi.", "The consent was recorded."),
    "consents.import": ("CSV dosyası içe aktar", "Import a CSV file"),
    "consents.file": ("CSV dosyası", "CSV file"),
    "consents.file_hint": (
        "UTF-8, virgülle ayrılmış, ilk satır başlık: recipient, recipientType, type, "
        "status, source, consentDate (ileti consent import ile aynı). En fazla {most} "
        "satır. Bir satır hatalıysa hiçbiri kaydedilmez.",
        "UTF-8, comma separated, a header line first: recipient, recipientType, type, "
        "status, source, consentDate (as ileti consent import reads). At most {most} "
        "rows. If a row is wrong, none is stored.",
    ),
    "consents.import_submit": ("İçe aktar", "Import"),
    "consents.imported": ("{n} izin kaydı içe aktarıldı.", "{n} consent record(s) imported."),
    "consents.file_required": ("Bir dosya seçin.", "Choose a file."),
    "consents.file_too_big": ("Dosya 2 MB'tan büyük.", "The file is larger than 2 MB."),
    "consents.file_not_utf8": ("Dosya UTF-8 değil.", "The file is not UTF-8."),
    "consents.file_header": (
        "İlk satır şu sütunları adlandırmalı: recipient, recipientType, type, status, "
        "source, consentDate.",
        "The first line must name the columns recipient, recipientType, type, status, "
        "source, consentDate.",
    ),
    "consents.file_empty": ("Dosyada kayıt yok.", "The file has no record."),
    "consents.file_too_many": ("En fazla {most} satır.", "At most {most} rows."),
    "consents.file_refused": (
        "Dosya reddedildi, hiçbir kayıt saklanmadı: {n} sorun (aşağıda).",
        "The file was refused and nothing was stored: {n} problem(s) (below).",
    ),
    "consents.problems": ("Sorunlu satırlar", "Rows with problems"),
    "consents.line": ("Satır", "Line"),
    "consents.field": ("Alan", "Field"),
    "consents.reason": ("Neden", "Reason"),
    "consents.rule.shown": ("{rule}", "{rule}"),
    "consents.rule.recipient_type": ("BIREYSEL ya da TACIR olmalı.", "Must be BIREYSEL or TACIR."),
    "consents.rule.type": ("MESAJ, ARAMA ya da EPOSTA olmalı.", "Must be MESAJ, ARAMA or EPOSTA."),
    "consents.rule.status": ("ONAY ya da RET olmalı.", "Must be ONAY or RET."),
    "consents.rule.phone": (
        "Geçerli bir Türk cep telefonu numarası değil.",
        "Not a valid Turkish mobile number.",
    ),
    "consents.rule.email": ("Geçerli bir e-posta adresi değil.", "Not a valid e-mail address."),
    "consents.rule.date_format": (
        "Tarih YYYY-AA-GG SS:DD:ss biçiminde, gerçek bir tarih olmalı.",
        "The date must be a real date written YYYY-MM-DD HH:MM:SS.",
    ),
    "consents.rule.future": (
        "İzin tarihi gelecekte olamaz.",
        "The consent date cannot be in the future.",
    ),
    "consents.rule.too_early": (
        "İzin tarihi 2015-05-01'den önce olamaz.",
        "The consent date cannot be before 2015-05-01.",
    ),
    "consents.rule.too_old": (
        "İzin tarihi 3 iş gününden eski: İYS artık kabul etmez.",
        "The consent date is older than 3 business days: the registry no longer takes it.",
    ),
    "consents.rule.hs2015": (
        "HS_2015 kaynağı yalnız 2015-05-01 00:00:00 tarihiyle.",
        "The HS_2015 source only with 2015-05-01 00:00:00.",
    ),
    "consents.rule.karar": (
        "HS_KARAR kaynağı yalnız RET ile.",
        "The HS_KARAR source only with RET.",
    ),
    "consents.rule.iys_source": (
        "IYS_ kaynakları yalnız İYS'den gelir, yüklenemez.",
        "IYS_ sources come only from the registry, never from an upload.",
    ),
    "consents.rule.source": ("HS_ kaynaklarından biri olmalı.", "Must be one of the HS_ sources."),
    "consents.rule.first_ret": (
        "Bir alıcının ilk kaydı RET olamaz.",
        "A recipient's first record may not be RET.",
    ),
    "consents.rule.already": ("Durum zaten {status}.", "The status is already {status}."),
    "consents.rule.not_later": (
        "İzin tarihi son kaydınkinden sonra olmalı.",
        "The consent date must be later than the latest record's.",
    ),
    "consents.rule.same": (
        "Satır {line} ile aynı alıcı ve tip.",
        "Same recipient and type as line {line}.",
    ),
    "consents.rule.unknown_field": ("Tanınmayan alan.", "Not a field of a consent record."),
    "consents.rule.too_many": ("En fazla {most} kayıt.", "At most {most} records."),
    "consents.rule.other": ("Bu değer kabul edilmiyor.", "This value is not accepted."),
    "reason.iys_no_consent": ("İYS izni yok", "No İYS consent"),
    "reason.iys_ret": ("İYS'de RET", "İYS opt-out (RET)"),
}
