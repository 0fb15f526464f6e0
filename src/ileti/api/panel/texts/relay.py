"""The relay: the settings section of the account's upstream, an order's batches and
its release, a message's batch."""

TEXTS: dict[str, tuple[str, str]] = {
    "nav.relay": ("Aktarım", "Relay"),
    # -- settings ----------------------------------------------------------------------
    "relay.title": ("Aktarım (üst hesap)", "Relay (upstream)"),
    "relay.intro": (
        "Üst hesap, bu hesabın gönderimlerinin aktarıldığı gerçek iletiMerkezi hesabıdır. "
        "Sandbox kipinde siparişler burada yakalanır ve yalnızca elle serbest bırakılanlar "
        "(bırakma listesindeki numaralara) üst hesaba gider; aktarım kipinde her sipariş, "
        "kara liste ve İYS denetimlerinden geçen alıcılarıyla üst hesaba gönderilir.",
        "The upstream is the real iletiMerkezi account this account's orders are forwarded "
        "to. In sandbox mode orders are captured here and only those released by hand "
        "(to the numbers on the release list) reach the upstream; in relay mode every "
        "order is sent upstream with the recipients that pass the blacklist and İYS checks.",
    ),
    "relay.none": (
        "Bu hesabın üst hesabı yok: siparişleri sandbox'ta kalır.",
        "This account has no upstream: its orders stay in the sandbox.",
    ),
    "relay.form": ("Üst hesap ayarları", "Upstream settings"),
    "relay.url": ("Üst hesabın adresi (URL)", "Upstream URL"),
    "relay.url_hint": (
        "iletiMerkezi API v1'in kök adresi; varsayılan https://api.iletimerkezi.com/v1/",
        "The root of the iletiMerkezi v1 API; by default https://api.iletimerkezi.com/v1/",
    ),
    "relay.key": ("Üst hesabın API anahtarı (key)", "Upstream API key"),
    "relay.hash": ("Üst hesabın API hash'i", "Upstream API hash"),
    "relay.hash_hint": (
        "64 onaltılık karakter. Şifreli saklanır ve bir daha gösterilmez.",
        "64 hexadecimal characters. Kept encrypted and never shown again.",
    ),
    "relay.hash_kept": (
        "Bir hash saklanıyor. Değiştirmek istemiyorsanız hash ve gizli anahtar alanlarını "
        "boş bırakın (anahtarı değiştirirseniz yenisinin hash'i gerekir).",
        "A hash is kept. Leave the hash and secret empty to keep it (a new key needs its "
        "own hash).",
    ),
    "relay.hash_stored": (
        "Bir hash şifreli olarak saklanıyor (gösterilmez).",
        "A hash is kept, encrypted (never shown).",
    ),
    "relay.secret": ("ya da üst hesabın gizli anahtarı (secret)", "or the upstream secret"),
    "relay.secret_hint": (
        "Hash yerine verilebilir: hash ondan burada hesaplanır; gizli anahtarın kendisi saklanmaz.",
        "May be given instead of the hash: the hash is made from it here; the secret "
        "itself is not kept.",
    ),
    "relay.mode": ("Kip", "Mode"),
    "relay.mode.sandbox": ("Sandbox", "Sandbox"),
    "relay.mode.sandbox_hint": (
        "Siparişler burada yakalanır; yalnızca elle serbest bırakılanlar gider.",
        "Orders are captured here; only those released by hand go out.",
    ),
    "relay.mode.relay": ("Aktarım", "Relay"),
    "relay.mode.relay_hint": (
        "Her sipariş üst hesaba aktarılır (gerçek SMS, gerçek ücret).",
        "Every order is forwarded to the upstream (real SMS, real charges).",
    ),
    "relay.blacklist_sync": ("Kara listeyi üst hesapla eşitle", "Sync the blacklist upstream"),
    "relay.blacklist_sync_hint": (
        "Kara liste ekleme ve silmeleri üst hesaba da yapılır; üst hesabın kara listesi "
        "düzenli olarak buraya alınır.",
        "Blacklist additions and removals are made upstream too; the upstream's blacklist "
        "is imported here regularly.",
    ),
    "relay.release_numbers": ("Bırakma listesi", "Release list"),
    "relay.release_numbers_hint": (
        "Serbest bırakılan sandbox siparişlerini alabilecek numaralar, her satıra bir "
        "tane (en çok {max}). Bir siparişin yalnızca bu listedeki alıcılarına gönderilir.",
        "The numbers a released sandbox order may reach, one a line (at most {max}). A "
        "released order goes only to those of its recipients on this list.",
    ),
    "relay.save": ("Kaydet ve bağlantıyı dene", "Save and test the connection"),
    "relay.saved": ("Kaydedildi.", "Saved."),
    "relay.balance": (
        "Üst hesap yanıt verdi. Bakiyesi: {sms} SMS, {amount} TL.",
        "The upstream answered. Its balance: {sms} SMS, {amount} TRY.",
    ),
    "relay.bad_url": ("Üst hesaba ulaşılamıyor:", "The upstream cannot be reached:"),
    "relay.bad_key": ("Anahtar kullanılamıyor:", "The key cannot be used:"),
    "relay.bad_hash": ("Hash kullanılamıyor:", "The hash cannot be used:"),
    "relay.bad_secret": ("Gizli anahtar kullanılamıyor:", "The secret cannot be used:"),
    "relay.bad_mode": ("Sandbox ya da aktarım seçin.", "Choose sandbox or relay."),
    "relay.bad_release_numbers": (
        "Bırakma listesi kullanılamıyor:",
        "The release list cannot be used:",
    ),
    "relay.bad_setting": ("Üst hesap ayarlanamıyor:", "The upstream cannot be set:"),
    "relay.admin_only": (
        "Üst hesabı yalnızca bir yönetici ayarlar, değiştirir ya da kaldırır. Bağlantıyı "
        "deneyebilir ve sandbox siparişlerini bırakma listesine serbest bırakabilirsiniz.",
        "Only an admin sets, changes or removes the upstream. You may test the connection "
        "and release sandbox orders to the release list.",
    ),
    "relay.on": ("açık", "on"),
    "relay.off": ("kapalı", "off"),
    "relay.release_empty": ("boş", "empty"),
    "relay.state": ("Durum", "State"),
    "relay.current_mode": ("Kip", "Mode"),
    "relay.checked_at": ("Son başarılı deneme", "Last successful check"),
    "relay.never": ("hiç", "never"),
    "relay.last_error": ("Son hata", "Last error"),
    "relay.no_error": ("yok", "none"),
    "relay.blacklist_synced_at": ("Kara liste son alındı", "Blacklist last imported"),
    "relay.counts": ("Gönderim partileri", "Batches"),
    "relay.counts_hint": (
        "Üst hesaba yapılan (ya da yapılacak) her send-sms isteği bir partidir.",
        "Each send-sms request made (or to be made) upstream is a batch.",
    ),
    "relay.check": ("Bağlantıyı dene", "Test the connection"),
    "relay.check_hint": (
        "Kayıtlı bilgilerle üst hesabın bakiyesini sorar (get-balance).",
        "Asks the upstream for its balance with the stored credentials (get-balance).",
    ),
    "relay.check_failed": ("Bağlantı denemesi başarısız:", "The connection test failed:"),
    "relay.remove": ("Üst hesabı kaldır", "Remove the upstream"),
    "relay.remove_note": (
        "Kaldırılırsa siparişler yeniden sandbox'ta kalır. Zaten oluşturulmuş partiler "
        "yine gönderilir.",
        "Once removed, orders stay in the sandbox again. Batches already made are still sent.",
    ),
    "relay.remove_confirm": (
        "Bu hesabın üst hesabını kaldırmak istiyorum",
        "I want to remove this account's upstream",
    ),
    "relay.confirm_required": ("Onay için bu kutuyu işaretleyin.", "Tick this box to confirm."),
    "relay.removed": ("Üst hesap kaldırıldı.", "The upstream was removed."),
    # -- batches (order and message pages) ---------------------------------------------
    "batch.state.pending": ("Bekliyor", "Pending"),
    "batch.state.sending": ("Gönderiliyor", "Sending"),
    "batch.state.sent": ("Gönderildi", "Sent"),
    "batch.state.done": ("Tamamlandı", "Done"),
    "batch.state.failed": ("Başarısız", "Failed"),
    "batch.state.cancelled": ("İptal edildi", "Cancelled"),
    "batch.kind.relay": ("Aktarım", "Relay"),
    "batch.kind.release": ("Serbest bırakma", "Release"),
    "batch.id": ("Parti", "Batch"),
    "batch.kind": ("Tür", "Kind"),
    "batch.size": ("Alıcı", "Recipients"),
    "batch.state": ("Durum", "State"),
    "batch.attempts": ("Deneme", "Attempts"),
    "batch.upstream_id": ("Üst hesaptaki sipariş", "Upstream order"),
    "batch.error": ("Üst hesabın yanıtı", "Upstream's answer"),
    "batch.counts": ("İletilen / iletilemeyen", "Delivered / undelivered"),
    "reason.upstream": ("Üst hesap göndermedi", "The upstream did not send it"),
    # -- an order ----------------------------------------------------------------------
    "orders.relay": ("Aktarım", "Relay"),
    "orders.relayed": (
        "Bu sipariş üst hesaba aktarıldı.",
        "This order was forwarded to the upstream.",
    ),
    "orders.relay_error": ("Üst hesabın reddi", "Refused upstream"),
    "orders.batches": ("Partiler", "Batches"),
    "orders.no_batches": (
        "Parti yok: hiçbir alıcı yerel denetimlerden geçmedi.",
        "No batch: no recipient passed the local checks.",
    ),
    "orders.cancel_note_relayed": (
        "Zamanlanmış bu sipariş üst hesaba aktarıldı; üst hesap onu zamanı gelince "
        "gönderir. İptal edilirse önce üst hesapta iptal edilir, sonra {n} kredi "
        "bakiyenize iade edilir.",
        "This scheduled order was forwarded to the upstream, which sends it at its time. "
        "Cancelling it cancels it upstream first, then refunds {n} credits to your balance.",
    ),
    "orders.cancel_refused": ("Sipariş iptal edilemedi:", "The order was not cancelled:"),
    "orders.cancel_unavailable": (
        "Üst hesaba şu an sorulamadı, hiçbir şey değişmedi; biraz sonra yeniden deneyin:",
        "The upstream could not be asked now and nothing changed; try again shortly:",
    ),
    "orders.released_batches": ("Serbest bırakılan partiler", "Released batches"),
    "orders.release": ("Üst hesaba serbest bırak", "Release to the upstream"),
    "orders.release_note": (
        "Bu sandbox siparişinin metinleri üst hesaba, yalnızca bırakma listesindeki "
        "alıcılarına gönderilir (gerçek SMS, üst hesapta ücretlenir). Bir sipariş bir kez "
        "bırakılabilir.",
        "This sandbox order's texts are sent upstream, only to those of its recipients "
        "on the release list (real SMS, charged upstream). An order is released once.",
    ),
    "orders.release_list": ("Bırakma listesi", "Release list"),
    "orders.release_reach": ("Gönderilecek alıcılar", "Recipients it will reach"),
    "orders.release_text": ("Metin {n}", "Text {n}"),
    "orders.release_empty": (
        "Bırakma listesi boş: önce aktarım ayarlarından numara ekleyin.",
        "The release list is empty: add numbers in the relay settings first.",
    ),
    "orders.release_none": (
        "Bu siparişin hiçbir alıcısı bırakma listesinde değil.",
        "None of this order's recipients is on the release list.",
    ),
    "orders.release_settings": ("Aktarım ayarları", "Relay settings"),
    "orders.release_confirm": (
        "Bu siparişi üst hesaba serbest bırakmak istiyorum",
        "I want to release this order to the upstream",
    ),
    "orders.release_refused": ("Serbest bırakılamadı:", "Not released:"),
    "orders.released": (
        "Sipariş üst hesaba serbest bırakıldı; partileri aşağıda.",
        "The order was released to the upstream; its batches are below.",
    ),
    # -- a message ---------------------------------------------------------------------
    "outbox.relay": ("Aktarım", "Relay"),
    "outbox.relayed": ("Üst hesaba aktarıldı", "Forwarded to the upstream"),
    "outbox.released": ("Üst hesaba serbest bırakıldı", "Released to the upstream"),
    "outbox.not_forwarded": (
        "Aktarılan bir siparişin mesajı, ama üst hesaba gönderilmedi (yerel denetim).",
        "A message of a relayed order, not sent upstream (a local check).",
    ),
    "outbox.batch": ("Parti {id}: {state}", "Batch {id}: {state}"),
}
