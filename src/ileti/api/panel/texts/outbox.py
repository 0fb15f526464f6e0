"""The sandbox outbox and a message's part breakdown."""

TEXTS: dict[str, tuple[str, str]] = {
    "outbox.title": ("Sandbox giden kutusu", "Sandbox outbox"),
    "outbox.intro": (
        "Gerçek bir operatöre gitmeden, gönderilmiş olacak mesajlar. En yeniler önce.",
        "What would have been sent, without a real carrier. Newest first.",
    ),
    "outbox.search": ("Mesaj ara", "Search messages"),
    "outbox.recipient": ("Alıcı", "Recipient"),
    "outbox.recipient_hint": (
        "Her biçim olur: 0532…, +90 532…, 90532…",
        "Any form: 0532…, +90 532…, 90532…",
    ),
    "outbox.sender": ("Başlık", "Sender"),
    "outbox.text": ("Metin", "Text"),
    "outbox.text_hint": (
        "Metnin içinde geçen bir parça (büyük/küçük harf duyarlı).",
        "A part of the text (case-sensitive).",
    ),
    "outbox.bad_recipient": ("Bu alıcı aranamıyor.", "This recipient cannot be searched."),
    "outbox.bad_sender": ("Bu başlık aranamıyor.", "This sender cannot be searched."),
    "outbox.bad_text": ("Bu metin aranamıyor.", "This text cannot be searched."),
    "outbox.submitted": ("Zaman", "Submitted"),
    "outbox.parts": ("Parça", "Parts"),
    "outbox.status": ("Durum", "Status"),
    "outbox.order": ("Sipariş", "Order"),
    "outbox.none": ("Mesaj yok.", "No messages."),
    "outbox.partial": (
        "Bu sayfada son 10.000 mesaj arandı; daha eskiler için sonraki sayfaya geçin.",
        "This page searched 10,000 messages; the next page searches older ones.",
    ),
    "outbox.newest": ("En yeniler", "Newest"),
    "outbox.older": ("Daha eski mesajlar", "Older messages"),
    "outbox.live_reload": (
        "Yeni mesajları görmek için sayfayı yenileyin.",
        "Reload the page to see new messages.",
    ),
    "outbox.live_on": (
        "Canlı: yeni mesajlar yenilemeden görünür.",
        "Live: new messages appear without reloading.",
    ),
    "outbox.live_off": (
        "Canlı bağlantı kapandı; yeni mesajlar için sayfayı yenileyin.",
        "The live connection closed; reload the page for new messages.",
    ),
    "outbox.live_more": (
        "Çok sayıda yeni mesaj geldi; hepsini görmek için sayfayı yenileyin.",
        "Many new messages arrived; reload the page to see them all.",
    ),
    "outbox.live_new": ("Yeni mesaj: {n}", "New messages: {n}"),
    "outbox.message": ("Mesaj {id}", "Message {id}"),
    "outbox.back": ("Giden kutusuna dön", "Back to the outbox"),
    "outbox.scheduled": ("Zamanlanan gönderim", "Scheduled for"),
    "outbox.sent": ("Operatöre gidiş", "Went to the carrier"),
    "outbox.not_sent": ("Gitmedi", "Not sent"),
    "outbox.breakdown": ("Parça dökümü", "Part breakdown"),
    "outbox.encoding": ("Kodlama", "Encoding"),
    "outbox.length": ("Uzunluk", "Length"),
    "outbox.units_gsm": ("{n} karakter (7 bit)", "{n} characters (7-bit)"),
    "outbox.units_ucs2": ("{n} UTF-16 birimi", "{n} UTF-16 units"),
    "outbox.price": ("Ücret", "Price"),
    "outbox.credits": ("{n} kredi", "{n} credits"),
    "encoding.gsm7": ("GSM-7", "GSM-7"),
    "encoding.turkish": ("GSM-7, Türkçe tek kaydırma tablosu", "GSM-7, Turkish single shift"),
    "encoding.ucs2": ("UCS-2", "UCS-2"),
    "encoding.gsm7.why": (
        "Bütün karakterler GSM-7 alfabesinde: parça başına en çok karakter.",
        "Every character is in the GSM-7 alphabet: the most characters per part.",
    ),
    "encoding.turkish.why": (
        "GSM-7 alfabesinde olmayan Türkçe harfler var; Türkçe tek kaydırma tablosu onları "
        "7 bitte taşır, ama başlığı her parçadan yer alır.",
        "Turkish letters outside the GSM-7 alphabet: the Turkish single shift table carries "
        "them in 7 bits, but its header takes room in every part.",
    ),
    "encoding.ucs2.why": (
        "Hiçbir GSM-7 tablosunda olmayan karakterler var; bütün metin UCS-2 ile gider "
        "(parça başına çok daha az karakter).",
        "Characters in no GSM-7 table: the whole text goes as UCS-2 (far fewer characters "
        "per part).",
    ),
    "outbox.forcing_turkish": (
        "Türkçe tabloyu gerektiren karakterler",
        "Characters that forced the Turkish table",
    ),
    "outbox.forcing_ucs2": ("UCS-2'yi gerektiren karakterler", "Characters that forced UCS-2"),
    "outbox.doubled": (
        "İki karakter sayılanlar (GSM uzantı tablosu)",
        "Counted twice (GSM extension table)",
    ),
    "outbox.capacity": (
        "Tek parça {single}, çok parçalı mesajda her parça {multi} birim taşır; operatör "
        "her metne {suffix} karakterlik bir kod ekler.",
        "One part holds {single} units; each part of a longer message {multi}; the carrier "
        "adds a {suffix}-character code to every text.",
    ),
    "outbox.part": ("Parça", "Part"),
    "outbox.part_text": ("Parçanın metni", "Text of the part"),
    "outbox.part_length": ("Uzunluk", "Length"),
    "outbox.part_suffix": ("Operatör kodu", "Carrier code"),
    "outbox.price_line": (
        "{parts} parça × 1 kredi = {credits} kredi.",
        "{parts} part(s) × 1 credit = {credits} credits.",
    ),
    "outbox.price_try": (
        "Hesabın birim fiyatıyla {amount} TL.",
        "At the account's unit price: {amount} TRY.",
    ),
    "outbox.not_charged": (
        "Ücretlendirilmedi (gönderilmedi ya da APITEST).",
        "Not charged (not sent, or APITEST).",
    ),
    "status.110": ("Gönderiliyor", "Sending"),
    "status.111": ("İletildi", "Delivered"),
    "status.112": ("İletilemedi", "Undelivered"),
    "reason.blacklisted": ("Kara listede", "Blacklisted"),
    "reason.invalid": ("Geçersiz numara", "Invalid number"),
    "reason.not_test_number": (
        "Test numarası değil (APITEST yalnızca test numarasına gider)",
        "Not the test number (APITEST goes to the test number only)",
    ),
    "reason.cancelled": ("Sipariş iptal edildi", "Order cancelled"),
    "reason.undelivered": ("Operatör iletemedi", "The carrier could not deliver it"),
    "reason.fault": ("Sandbox hata kuralı", "Sandbox fault rule"),
}
