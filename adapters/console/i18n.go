package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Languages the catalogue has, in preference order for an Accept-Language without a match.
var languages = []string{"en", "de"}

// catalogue is every string of the console, English and German side by side, so a missing
// translation is visible in one place (TestCatalogueComplete checks none is empty).
var catalogue = map[string][2]string{
	"app.name":                 {"eusaas console", "eusaas-Konsole"},
	"nav.skip":                 {"Skip to content", "Zum Inhalt springen"},
	"nav.main":                 {"Main", "Hauptmenü"},
	"nav.overview":             {"Overview", "Übersicht"},
	"nav.anomalies":            {"Anomalies", "Anomalien"},
	"nav.invoices":             {"Invoices", "Rechnungen"},
	"nav.usage":                {"Usage", "Nutzung"},
	"nav.users":                {"Users & invitations", "Benutzer & Einladungen"},
	"nav.audit":                {"Audit log", "Prüfprotokoll"},
	"nav.tenants":              {"Tenants", "Mandanten"},
	"nav.alerts":               {"Alert subscriptions", "Warnungs-Abos"},
	"alerts.title":             {"Anomaly alert subscriptions", "Abonnements für Anomalie-Warnungen"},
	"alerts.none":              {"No subscriptions: anomalies are only listed.", "Keine Abonnements: Anomalien werden nur aufgelistet."},
	"alerts.frequency":         {"Frequency", "Häufigkeit"},
	"alerts.amount":            {"Minimum impact (EUR)", "Mindestauswirkung (EUR)"},
	"alerts.pct":               {"Minimum deviation (%)", "Mindestabweichung (%)"},
	"alerts.channel":           {"Channel", "Kanal"},
	"alerts.target":            {"Address or webhook URL", "Adresse oder Webhook-URL"},
	"alerts.add":               {"Add subscription", "Abonnement hinzufügen"},
	"alerts.remove":            {"Remove", "Entfernen"},
	"alerts.saved":             {"Subscriptions saved.", "Abonnements gespeichert."},
	"alerts.any":               {"any", "beliebig"},
	"nav.platform":             {"Platform", "Plattform"},
	"platform.title":           {"Platform", "Plattform"},
	"platform.audit":           {"Platform audit log", "Plattform-Prüfprotokoll"},
	"platform.sa":              {"Service accounts", "Dienstkonten"},
	"platform.sa.none":         {"No service accounts.", "Keine Dienstkonten."},
	"platform.sa.name":         {"What the account is for", "Wofür das Konto ist"},
	"platform.sa.create":       {"Create service account", "Dienstkonto anlegen"},
	"platform.sa.created":      {"Service account created. Its client id and secret are shown only this once:", "Dienstkonto angelegt. Client-ID und Geheimnis werden nur dieses eine Mal angezeigt:"},
	"platform.sa.revoke":       {"Revoke", "Widerrufen"},
	"platform.sa.client":       {"Client id", "Client-ID"},
	"platform.seller":          {"Seller (invoice issuer)", "Verkäufer (Rechnungsaussteller)"},
	"platform.noseller":        {"No seller data", "Keine Verkäuferdaten"},
	"platform.breaches":        {"Breach register (Art. 33 GDPR)", "Verletzungsregister (Art. 33 DSGVO)"},
	"platform.nobreaches":      {"No breaches recorded.", "Keine Verletzungen erfasst."},
	"platform.notifyby":        {"Notify authority by", "Behörde benachrichtigen bis"},
	"platform.subjects":        {"Subjects (approx.)", "Betroffene (ca.)"},
	"nav.gdpr":                 {"GDPR requests", "DSGVO-Anfragen"},
	"nav.settings":             {"Settings", "Einstellungen"},
	"usage.title":              {"Usage", "Nutzung"},
	"usage.span":               {"Last %d days", "Letzte %d Tage"},
	"usage.caption":            {"Quantity per day and resource", "Menge pro Tag und Ressource"},
	"gdpr.title":               {"GDPR requests", "DSGVO-Anfragen"},
	"gdpr.none":                {"No requests.", "Keine Anfragen."},
	"gdpr.new":                 {"Record a request", "Anfrage erfassen"},
	"gdpr.type":                {"Right exercised", "Ausgeübtes Recht"},
	"gdpr.subject":             {"Data subject", "Betroffene Person"},
	"gdpr.nosubject":           {"(not known yet)", "(noch unbekannt)"},
	"gdpr.email":               {"E-mail the request came from", "E-Mail des Absenders"},
	"gdpr.format":              {"Export format", "Exportformat"},
	"gdpr.submit":              {"Record request", "Anfrage erfassen"},
	"gdpr.created":             {"Request recorded. Nothing is done before the identity is verified.", "Anfrage erfasst. Vor der Identitätsprüfung geschieht nichts."},
	"gdpr.verify":              {"Identity verified: start", "Identität geprüft: starten"},
	"gdpr.method":              {"How was the identity verified?", "Wie wurde die Identität geprüft?"},
	"gdpr.started":             {"Identity recorded; the work has started.", "Identität erfasst; die Bearbeitung hat begonnen."},
	"gdpr.reason":              {"Reason (given to the data subject)", "Begründung (wird der betroffenen Person mitgeteilt)"},
	"gdpr.extend":              {"Extend", "Verlängern"},
	"gdpr.reject":              {"Reject", "Ablehnen"},
	"gdpr.extended":            {"Deadline extended to three months.", "Frist auf drei Monate verlängert."},
	"gdpr.rejected":            {"Request rejected.", "Anfrage abgelehnt."},
	"gdpr.received":            {"Received", "Eingegangen"},
	"gdpr.deadline":            {"Deadline", "Frist"},
	"gdpr.outcome":             {"What was done (outcome)", "Was getan wurde (Ergebnis)"},
	"gdpr.complete":            {"Complete", "Abschließen"},
	"gdpr.completed":           {"Request completed; its evidence is signed.", "Anfrage abgeschlossen; der Nachweis ist signiert."},
	"gdpr.overdue":             {"overdue", "überfällig"},
	"gdpr.download":            {"Download export", "Export herunterladen"},
	"gdpr.notready":            {"The export is not ready for download", "Der Export ist noch nicht abrufbar"},
	"settings.title":           {"Settings", "Einstellungen"},
	"settings.tenant":          {"Organisation", "Organisation"},
	"settings.region":          {"Data residency region", "Region der Datenhaltung"},
	"settings.maxusers":        {"Maximum users", "Maximale Benutzerzahl"},
	"settings.ratelimit":       {"API requests per minute", "API-Anfragen pro Minute"},
	"settings.threshold":       {"Monthly budget (cost alert threshold, EUR)", "Monatsbudget (Kostenwarnschwelle, EUR)"},
	"settings.minimpact":       {"Minimum anomaly impact (EUR)", "Mindestauswirkung einer Anomalie (EUR)"},
	"settings.retention":       {"Data retention (days)", "Aufbewahrung (Tage)"},
	"settings.save":            {"Save settings", "Einstellungen speichern"},
	"settings.saved":           {"Settings saved.", "Einstellungen gespeichert."},
	"settings.number":          {"must be a whole number", "muss eine ganze Zahl sein"},
	"settings.profile":         {"Billing profile", "Rechnungsprofil"},
	"settings.noprofile":       {"No billing profile", "Kein Rechnungsprofil"},
	"nav.apikeys":              {"API keys", "API-Schlüssel"},
	"nav.account":              {"My account", "Mein Konto"},
	"nav.plans":                {"Plans & metrics", "Tarife & Messgrößen"},
	"plans.title":              {"Plans and billable metrics", "Tarife und abrechenbare Messgrößen"},
	"plans.list":               {"Subscription plans", "Abonnement-Tarife"},
	"plans.none":               {"No plans yet.", "Noch keine Tarife."},
	"plans.code":               {"Code", "Code"},
	"plans.fee":                {"Monthly fee", "Monatsgebühr"},
	"plans.included":           {"Included per month", "Monatlich enthalten"},
	"plans.included.hint":      {"one METRIC=quantity per line", "je Zeile MESSGRÖSSE=Menge"},
	"plans.entitlements":       {"Entitlements", "Berechtigungen"},
	"plans.maxusers":           {"Max. users", "Max. Benutzer"},
	"plans.storage":            {"Storage limit (GB)", "Speichergrenze (GB)"},
	"plans.rate":               {"API requests per minute", "API-Anfragen pro Minute"},
	"plans.hard":               {"Hard limits (refuse storage over the limit)", "Harte Grenzen (Speicher über der Grenze ablehnen)"},
	"plans.edit":               {"Edit plan", "Tarif bearbeiten"},
	"plans.save":               {"Save plan", "Tarif speichern"},
	"plans.create":             {"Create a plan", "Tarif anlegen"},
	"plans.create.submit":      {"Create plan", "Tarif anlegen"},
	"plans.created":            {"Plan created.", "Tarif angelegt."},
	"plans.updated":            {"Plan saved. Tenants on it have its new limits.", "Tarif gespeichert. Mandanten darauf haben seine neuen Grenzen."},
	"plans.assign":             {"Plan", "Tarif"},
	"plans.assign.submit":      {"Change plan", "Tarif wechseln"},
	"plans.assigned":           {"Plan changed.", "Tarif gewechselt."},
	"plans.noplan":             {"no plan", "kein Tarif"},
	"metrics.title":            {"Billable metrics", "Abrechenbare Messgrößen"},
	"metrics.aggregation":      {"Aggregation", "Aggregation"},
	"metrics.field":            {"Attribute (optional)", "Attribut (optional)"},
	"metrics.builtin":          {"Built in", "Eingebaut"},
	"metrics.create":           {"Create a metric", "Messgröße anlegen"},
	"metrics.create.submit":    {"Create metric", "Messgröße anlegen"},
	"metrics.created":          {"Metric created.", "Messgröße angelegt."},
	"keys.title":               {"API keys", "API-Schlüssel"},
	"keys.none":                {"No API keys.", "Keine API-Schlüssel."},
	"keys.prefix":              {"Starts with", "Beginnt mit"},
	"keys.scopes":              {"Scopes", "Berechtigungen"},
	"keys.lastused":            {"Last used", "Zuletzt benutzt"},
	"keys.revoke":              {"Revoke", "Widerrufen"},
	"keys.revoked":             {"API key revoked.", "API-Schlüssel widerrufen."},
	"keys.create":              {"Create an API key", "API-Schlüssel anlegen"},
	"keys.create.submit":       {"Create key", "Schlüssel anlegen"},
	"keys.name":                {"What the key is for", "Wofür der Schlüssel ist"},
	"keys.created":             {"API key created. It is shown only this once; store it now:", "API-Schlüssel angelegt. Er wird nur dieses eine Mal angezeigt; speichern Sie ihn jetzt:"},
	"keys.scope.usage:write":   {"report usage", "Nutzung melden"},
	"keys.scope.costs:read":    {"read costs and projections", "Kosten und Hochrechnungen lesen"},
	"account.title":            {"My account", "Mein Konto"},
	"account.mfa":              {"Second factor (authenticator app)", "Zweiter Faktor (Authenticator-App)"},
	"account.mfa.intro":        {"With a second factor, signing in asks for a code from your authenticator app after the password.", "Mit einem zweiten Faktor fragt die Anmeldung nach dem Passwort einen Code aus Ihrer Authenticator-App ab."},
	"account.enrol":            {"Set up an authenticator app", "Authenticator-App einrichten"},
	"account.enrolled":         {"Add the secret to your authenticator app, then confirm with a code.", "Fügen Sie das Geheimnis Ihrer Authenticator-App hinzu und bestätigen Sie mit einem Code."},
	"account.step2":            {"Scan the code or enter the secret, then confirm", "Code scannen oder Geheimnis eingeben, dann bestätigen"},
	"account.qr":               {"QR code of the authenticator setup URL", "QR-Code der Einrichtungs-URL für die Authenticator-App"},
	"account.secret":           {"Secret", "Geheimnis"},
	"account.url":              {"Setup URL", "Einrichtungs-URL"},
	"account.confirm":          {"Confirm and turn on", "Bestätigen und einschalten"},
	"account.confirmed":        {"The second factor is on.", "Der zweite Faktor ist eingeschaltet."},
	"account.recovery":         {"Recovery codes, each good once if you lose the app. They are shown only this once:", "Wiederherstellungscodes, jeder einmal gültig, falls Sie die App verlieren. Sie werden nur dieses eine Mal angezeigt:"},
	"account.disable":          {"Turn the second factor off", "Zweiten Faktor ausschalten"},
	"account.disable.hint":     {"Give a current code, a recovery code or your password.", "Geben Sie einen aktuellen Code, einen Wiederherstellungscode oder Ihr Passwort an."},
	"account.disable.code":     {"Code or recovery code", "Code oder Wiederherstellungscode"},
	"account.disable.password": {"Or your password", "Oder Ihr Passwort"},
	"account.disable.submit":   {"Turn off", "Ausschalten"},
	"account.disabled":         {"The second factor is off.", "Der zweite Faktor ist ausgeschaltet."},
	"party.profile.title":      {"Billing profile", "Rechnungsprofil"},
	"party.seller.title":       {"Seller (invoice issuer)", "Verkäufer (Rechnungsaussteller)"},
	"party.legal_name":         {"Legal name", "Firmenname"},
	"party.customer_type":      {"Customer type", "Kundenart"},
	"party.email":              {"Invoice e-mail", "Rechnungs-E-Mail"},
	"party.line1":              {"Street and number", "Straße und Hausnummer"},
	"party.line2":              {"Address line 2", "Adresszusatz"},
	"party.postal_code":        {"Postal code", "Postleitzahl"},
	"party.city":               {"City", "Ort"},
	"party.country":            {"Country (ISO code, e.g. DE)", "Land (ISO-Code, z. B. DE)"},
	"party.iban":               {"IBAN", "IBAN"},
	"party.bic":                {"BIC", "BIC"},
	"party.save":               {"Save", "Speichern"},
	"party.saved":              {"Saved.", "Gespeichert."},
	"party.edit":               {"Edit", "Bearbeiten"},
	"nav.signout":              {"Sign out", "Abmelden"},
	"nav.language":             {"Language", "Sprache"},
	"lang.other":               {"Deutsch", "English"},
	"signin.title":             {"Sign in", "Anmelden"},
	"signin.tenant":            {"Organisation (slug)", "Organisation (Kürzel)"},
	"signin.tenant.hint":       {"Leave empty to sign in as a platform operator.", "Leer lassen, um sich als Plattformbetreiber anzumelden."},
	"signin.email":             {"E-mail", "E-Mail"},
	"signin.password":          {"Password", "Passwort"},
	"signin.submit":            {"Sign in", "Anmelden"},
	"signin.forgot":            {"Forgot your password?", "Passwort vergessen?"},
	"signin.failed":            {"Sign-in failed", "Anmeldung fehlgeschlagen"},
	"signin.signedout":         {"You are signed out.", "Sie sind abgemeldet."},
	"mfa.title":                {"Second factor", "Zweiter Faktor"},
	"mfa.code":                 {"Code from your authenticator app", "Code aus Ihrer Authenticator-App"},
	"mfa.submit":               {"Verify", "Bestätigen"},
	"forgot.title":             {"Reset your password", "Passwort zurücksetzen"},
	"forgot.submit":            {"Send reset link", "Link senden"},
	"forgot.sent":              {"If the account exists, a reset link is on its way.", "Falls das Konto existiert, ist ein Link unterwegs."},
	"reset.title":              {"Choose a new password", "Neues Passwort wählen"},
	"reset.token":              {"Reset code from the mail", "Code aus der E-Mail"},
	"reset.password":           {"New password", "Neues Passwort"},
	"reset.hint":               {"10 to 128 characters with upper and lower case, a digit and a special character.", "10 bis 128 Zeichen mit Groß- und Kleinbuchstaben, Ziffer und Sonderzeichen."},
	"reset.submit":             {"Set password", "Passwort setzen"},
	"reset.done":               {"Your password is changed. Sign in with it.", "Ihr Passwort ist geändert. Melden Sie sich damit an."},
	"accept.title":             {"Accept your invitation", "Einladung annehmen"},
	"accept.token":             {"Invitation code from the mail", "Einladungscode aus der E-Mail"},
	"accept.name":              {"Your name", "Ihr Name"},
	"accept.submit":            {"Create my account", "Konto anlegen"},
	"accept.done":              {"Your account is ready. Sign in.", "Ihr Konto ist angelegt. Melden Sie sich an."},
	"verify.title":             {"Confirm your e-mail address", "E-Mail-Adresse bestätigen"},
	"verify.token":             {"Confirmation code from the mail", "Bestätigungscode aus der E-Mail"},
	"verify.submit":            {"Confirm", "Bestätigen"},
	"verify.done":              {"Your e-mail address is confirmed.", "Ihre E-Mail-Adresse ist bestätigt."},
	"overview.title":           {"Overview", "Übersicht"},
	"overview.mtd":             {"Month to date", "Monat bis heute"},
	"overview.projection":      {"Projected month end", "Hochrechnung Monatsende"},
	"overview.interval":        {"Confidence interval", "Konfidenzintervall"},
	"overview.budget":          {"Budget (alert threshold)", "Budget (Warnschwelle)"},
	"overview.nobudget":        {"No budget set", "Kein Budget gesetzt"},
	"overview.daily":           {"Daily costs, last 90 days, by resource", "Tageskosten der letzten 90 Tage nach Ressource"},
	"overview.daily.desc":      {"Stacked bars, one per day; each colour is one resource.", "Gestapelte Balken, einer pro Tag; jede Farbe ist eine Ressource."},
	"overview.proj.chart":      {"Month to date, projection and budget", "Monat bis heute, Hochrechnung und Budget"},
	"overview.table":           {"Show the data as a table", "Daten als Tabelle anzeigen"},
	"overview.nodata":          {"No costs in the last 90 days.", "Keine Kosten in den letzten 90 Tagen."},
	"overview.exceeds":         {"The projection is above the budget.", "Die Hochrechnung liegt über dem Budget."},
	"overview.mayexceed":       {"The interval reaches above the budget.", "Das Intervall reicht über das Budget."},
	"overview.openanoms":       {"Open anomalies", "Offene Anomalien"},
	"col.day":                  {"Day", "Tag"},
	"col.total":                {"Total", "Summe"},
	"col.severity":             {"Severity", "Schweregrad"},
	"col.episode":              {"Episode", "Episode"},
	"col.service":              {"Resource", "Ressource"},
	"col.expected":             {"Expected", "Erwartet"},
	"col.actual":               {"Actual", "Tatsächlich"},
	"col.impact":               {"Impact", "Auswirkung"},
	"col.causes":               {"Root causes", "Ursachen"},
	"col.status":               {"Status", "Status"},
	"col.actions":              {"Actions", "Aktionen"},
	"col.number":               {"Number", "Nummer"},
	"col.period":               {"Period", "Zeitraum"},
	"col.net":                  {"Net", "Netto"},
	"col.vat":                  {"VAT", "USt."},
	"col.gross":                {"Gross", "Brutto"},
	"col.due":                  {"Due", "Fällig"},
	"col.description":          {"Description", "Beschreibung"},
	"col.quantity":             {"Quantity", "Menge"},
	"col.unit":                 {"Unit", "Einheit"},
	"col.unitprice":            {"Unit price", "Einzelpreis"},
	"col.amount":               {"Amount", "Betrag"},
	"col.rate":                 {"Rate", "Satz"},
	"col.category":             {"Category", "Kategorie"},
	"col.email":                {"E-mail", "E-Mail"},
	"col.name":                 {"Name", "Name"},
	"col.role":                 {"Role", "Rolle"},
	"col.active":               {"Active", "Aktiv"},
	"col.lastlogin":            {"Last sign-in", "Letzte Anmeldung"},
	"col.expires":              {"Expires", "Läuft ab"},
	"col.slug":                 {"Slug", "Kürzel"},
	"col.tier":                 {"Tier", "Tarif"},
	"col.created":              {"Created", "Erstellt"},
	"col.time":                 {"Time", "Zeit"},
	"col.action":               {"Action", "Aktion"},
	"col.actor":                {"Actor", "Akteur"},
	"col.resource":             {"Object", "Objekt"},
	"anom.title":               {"Anomalies", "Anomalien"},
	"anom.none":                {"No anomalies.", "Keine Anomalien."},
	"anom.ack":                 {"Acknowledge", "Bestätigen"},
	"anom.acked":               {"Acknowledged", "Bestätigt"},
	"anom.ackdone":             {"Anomaly acknowledged.", "Anomalie bestätigt."},
	"anom.verdict":             {"Verdict", "Bewertung"},
	"anom.feedback":            {"Send verdict", "Bewertung senden"},
	"anom.fbdone":              {"Verdict recorded.", "Bewertung gespeichert."},
	"anom.EXPECTED":            {"Expected", "Erwartet"},
	"anom.FALSE_POSITIVE":      {"False positive", "Fehlalarm"},
	"anom.CONFIRMED":           {"Confirmed", "Bestätigt"},
	"anom.filter.open":         {"Only unacknowledged", "Nur unbestätigte"},
	"inv.title":                {"Invoices", "Rechnungen"},
	"inv.none":                 {"No invoices.", "Keine Rechnungen."},
	"inv.draft":                {"Draft", "Entwurf"},
	"inv.detail":               {"Invoice", "Rechnung"},
	"inv.lines":                {"Lines", "Positionen"},
	"inv.vatbreakdown":         {"VAT breakdown", "USt.-Aufschlüsselung"},
	"inv.documents":            {"Documents", "Dokumente"},
	"inv.download":             {"Download", "Herunterladen"},
	"inv.seller":               {"Seller", "Verkäufer"},
	"inv.buyer":                {"Buyer", "Käufer"},
	"inv.vatrule":              {"VAT treatment", "USt.-Behandlung"},
	"inv.creditnotes":          {"Credit notes", "Gutschriften"},
	"inv.credits":              {"Credits", "Korrigiert"},
	"inv.reason":               {"Reason", "Grund"},
	"inv.back":                 {"All invoices", "Alle Rechnungen"},
	"users.title":              {"Users & invitations", "Benutzer & Einladungen"},
	"users.invitations":        {"Open invitations", "Offene Einladungen"},
	"users.noinvitations":      {"No open invitations.", "Keine offenen Einladungen."},
	"users.invite":             {"Invite a user", "Benutzer einladen"},
	"users.invite.submit":      {"Send invitation", "Einladung senden"},
	"users.invited":            {"Invitation sent. Its token is shown only this once:", "Einladung gesendet. Der Code wird nur dieses eine Mal angezeigt:"},
	"users.changed":            {"User changed.", "Benutzer geändert."},
	"users.setrole":            {"Change role", "Rolle ändern"},
	"users.deactivate":         {"Deactivate", "Deaktivieren"},
	"users.activate":           {"Reactivate", "Reaktivieren"},
	"users.yes":                {"yes", "ja"},
	"users.no":                 {"no", "nein"},
	"users.never":              {"never", "nie"},
	"tenants.title":            {"Tenants", "Mandanten"},
	"tenants.search":           {"Search name or slug", "Name oder Kürzel suchen"},
	"tenants.status":           {"Status", "Status"},
	"tenants.any":              {"Any status", "Jeder Status"},
	"tenants.filter":           {"Filter", "Filtern"},
	"tenants.create":           {"Create a tenant", "Mandanten anlegen"},
	"tenants.name":             {"Name", "Name"},
	"tenants.admin":            {"Owner e-mail", "E-Mail des Inhabers"},
	"tenants.create.submit":    {"Create tenant", "Mandant anlegen"},
	"tenants.created":          {"Tenant created. The owner invitation token is shown only this once:", "Mandant angelegt. Der Einladungscode des Inhabers wird nur dieses eine Mal angezeigt:"},
	"tenants.suspend":          {"Suspend", "Sperren"},
	"tenants.activate":         {"Activate", "Aktivieren"},
	"tenants.delete":           {"Delete", "Löschen"},
	"tenants.delete.type":      {"Type the slug to confirm deletion", "Kürzel zur Bestätigung eingeben"},
	"tenants.delete.wrong":     {"The typed slug does not match; nothing was deleted.", "Das Kürzel stimmt nicht; nichts wurde gelöscht."},
	"tenants.done":             {"Done.", "Erledigt."},
	"tenants.none":             {"No tenants match.", "Keine passenden Mandanten."},
	"tenants.open":             {"Open console of", "Konsole öffnen von"},
	"audit.title":              {"Audit log", "Prüfprotokoll"},
	"audit.verified":           {"Chain verified", "Kette verifiziert"},
	"audit.broken":             {"Chain verification FAILED", "Kettenprüfung FEHLGESCHLAGEN"},
	"audit.entries":            {"entries", "Einträge"},
	"audit.none":               {"No entries.", "Keine Einträge."},
	"audit.from":               {"From", "Von"},
	"audit.to":                 {"To", "Bis"},
	"audit.detail":             {"Details", "Details"},
	"audit.erased":             {"Erased personal fields", "Gelöschte personenbezogene Felder"},
	"audit.hash":               {"Entry hash", "Eintrags-Hash"},
	"audit.prev":               {"Previous hash", "Vorheriger Hash"},
	"audit.filter.action":      {"Action", "Aktion"},
	"page.prev":                {"Previous page", "Vorherige Seite"},
	"page.next":                {"Next page", "Nächste Seite"},
	"page.of":                  {"Page %d of %d", "Seite %d von %d"},
	"err.title":                {"Something went wrong", "Etwas ist schiefgelaufen"},
	"err.forbidden":            {"You may not see this page.", "Sie dürfen diese Seite nicht sehen."},
	"err.csrf":                 {"The form was stale or not sent by this console. Reload the page and try again.", "Das Formular war veraltet oder kam nicht von dieser Konsole. Laden Sie die Seite neu und versuchen Sie es erneut."},
	"err.notfound":             {"Not found.", "Nicht gefunden."},
	"err.back":                 {"Back to the console", "Zurück zur Konsole"},
	"role.OWNER":               {"Owner", "Inhaber"},
	"role.ADMIN":               {"Admin", "Administrator"},
	"role.MEMBER":              {"Member", "Mitglied"},
	"role.VIEWER":              {"Viewer", "Betrachter"},
	"role.operator":            {"Platform operator", "Plattformbetreiber"},
}

// T is the string of key in lang; the key itself when the catalogue has none (visible, and
// caught by the catalogue test).
func T(lang, key string) string {
	e, ok := catalogue[key]
	if !ok {
		return key
	}
	if lang == "de" {
		return e[1]
	}
	return e[0]
}

// pickLang is the console's language: the session's choice, else the first of the
// browser's Accept-Language tags the catalogue has, else English.
func pickLang(r *http.Request) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		for _, l := range languages {
			if base == l && q > bestQ {
				best, bestQ = l, q
			}
		}
	}
	if best == "" {
		return "en"
	}
	return best
}

// formatDecimal renders the decimal string s with places fraction digits, grouped per lang
// (en 1,234.56; de 1.234,56). Exact: the amount never passes through a float.
func formatDecimal(lang, s string, places int32) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	txt := d.StringFixed(places)
	neg := strings.HasPrefix(txt, "-")
	txt = strings.TrimPrefix(txt, "-")
	intPart, frac, _ := strings.Cut(txt, ".")
	group, point := ",", "."
	if lang == "de" {
		group, point = ".", ","
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString(point)
		b.WriteString(frac)
	}
	return b.String()
}

// formatMoney is an EUR amount with cents: "€1,234.56" (en), "1.234,56 €" (de).
func formatMoney(lang, s string) string {
	if s == "" {
		return "–"
	}
	n := formatDecimal(lang, s, 2)
	if lang == "de" {
		return n + "\u00a0€"
	}
	if strings.HasPrefix(n, "-") {
		return "-€" + n[1:]
	}
	return "€" + n
}

var monthsDE = [...]string{"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."}

// formatDate is a calendar day: "3 Dec 2026" (en), "3. Dez. 2026" (de).
func formatDate(lang string, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	if lang == "de" {
		return strconv.Itoa(t.Day()) + ". " + monthsDE[t.Month()-1] + " " + strconv.Itoa(t.Year())
	}
	return t.Format("2 Jan 2006")
}

// formatTime is an instant in UTC with the day formatted per lang.
func formatTime(lang string, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	t = t.UTC()
	return formatDate(lang, t) + ", " + t.Format("15:04") + " UTC"
}

// parseDay reads YYYY-MM-DD (zero time when it is not one).
func parseDay(s string) time.Time {
	t, _ := time.Parse("2006-01-02", s)
	return t
}
