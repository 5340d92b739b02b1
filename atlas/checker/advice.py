"""Plain-German names and advice for states, findings and fields (msgids; translate with _() when shown)."""

from __future__ import annotations

from flask_babel import gettext as _


def N_(text: str) -> str:
    """Mark a string for extraction without translating it (it is also stored in German, e.g. in tasks)."""
    return text


STATE_LABELS = {
    "new": N_("noch nicht geprüft"),
    "ok": N_("in Ordnung"),
    "warning": N_("Warnung"),
    "broken": N_("defekt"),
    "manual_check": N_("bitte von Hand prüfen"),
    "ignored": N_("ignoriert"),
}

KIND_LABELS = {
    "ok": N_("funktioniert"),
    "redirect_permanent": N_("dauerhaft umgeleitet"),
    "redirect_home": N_("auf Startseite umgeleitet"),
    "redirect_other_domain": N_("auf andere Website umgeleitet"),
    "content_changed": N_("Inhalt stark verändert"),
    "http_404": N_("nicht gefunden (404)"),
    "http_410": N_("entfernt (410)"),
    "dns": N_("Domain existiert nicht"),
    "dns_temporary": N_("Namensauflösung gestört"),
    "soft_404": N_("Seite meldet „nicht gefunden“"),
    "parked": N_("Domain geparkt oder zu verkaufen"),
    "invalid_url": N_("keine gültige Adresse"),
    "http_client": N_("Fehler in der Anfrage (4xx)"),
    "http_server": N_("Serverfehler (5xx)"),
    "rate_limited": N_("zu viele Anfragen (429)"),
    "timeout": N_("keine Antwort (Zeitüberschreitung)"),
    "refused": N_("Verbindung abgelehnt"),
    "connection": N_("Verbindung abgebrochen"),
    "redirect_loop": N_("Weiterleitung im Kreis"),
    "too_many_redirects": N_("zu viele Weiterleitungen"),
    "tls_expired": N_("Zertifikat abgelaufen"),
    "tls_self_signed": N_("Zertifikat selbst ausgestellt"),
    "tls_hostname": N_("Zertifikat für anderen Namen"),
    "tls_untrusted": N_("Zertifikat nicht vertrauenswürdig"),
    "tls_other": N_("TLS-Fehler"),
    "blocked": N_("Zugriff für Prüfdienst gesperrt"),
    "robots": N_("Abruf durch robots.txt verboten"),
    "private_address": N_("interne Adresse (nicht geprüft)"),
}

# What to do, per finding, in the manner of the W3C link checker's explanations.
KIND_ADVICE = {
    "ok": N_("Nichts zu tun."),
    "redirect_permanent": N_("Die Adresse ist dauerhaft umgezogen. Übernehmen Sie die neue Adresse mit einem Klick."),
    "redirect_home": N_("Die Seite leitet auf die Startseite um; die Angebotsseite wurde wohl entfernt. Suchen Sie "
                        "die neue Seite des Angebots oder fragen Sie beim Träger nach, ob es das Angebot noch gibt."),
    "redirect_other_domain": N_("Die Adresse führt jetzt zu einer anderen Website. Prüfen Sie, ob das noch der "
                                "Träger ist (Umzug, Fusion) oder ob die Domain den Besitzer gewechselt hat."),
    "content_changed": N_("Titel oder Text der Seite haben sich stark verändert. Prüfen Sie, ob die Angaben im "
                          "Eintrag noch stimmen, und bestätigen Sie dann mit „In Ordnung“."),
    "http_404": N_("Die Seite gibt es nicht mehr. Suchen Sie auf der Website des Trägers die neue Adresse und "
                   "ändern Sie den Link, oder entfernen Sie ihn."),
    "http_410": N_("Die Seite wurde absichtlich entfernt. Entfernen Sie den Link oder ersetzen Sie ihn; fragen "
                   "Sie nach, ob es das Angebot noch gibt."),
    "dns": N_("Den Namen der Website gibt es nicht (mehr); die Domain ist vielleicht abgelaufen. Fragen Sie beim "
              "Träger nach der neuen Adresse."),
    "dns_temporary": N_("Der Name der Website konnte gerade nicht aufgelöst werden. Meist ist das vorübergehend; "
                        "der Link wird bald erneut geprüft."),
    "soft_404": N_("Die Seite antwortet, zeigt aber „nicht gefunden“ oder „eingestellt“. Prüfen Sie die Seite und "
                   "ändern oder entfernen Sie den Link."),
    "parked": N_("Die Domain ist geparkt oder wird verkauft: Der Träger nutzt sie nicht mehr. Entfernen Sie den "
                 "Link und fragen Sie nach der neuen Adresse."),
    "invalid_url": N_("Das ist keine gültige Internetadresse. Korrigieren Sie den Eintrag (Adressen beginnen mit "
                      "https:// oder http://)."),
    "http_client": N_("Der Server lehnt die Anfrage ab. Öffnen Sie den Link im Browser; funktioniert er dort, "
                      "markieren Sie ihn als in Ordnung."),
    "http_server": N_("Der Server hat einen Fehler gemeldet. Oft ist das vorübergehend; der Link wird bald erneut "
                      "geprüft. Bleibt der Fehler, informieren Sie den Träger."),
    "rate_limited": N_("Der Server bittet um weniger Anfragen. Der Prüfdienst wartet und prüft später erneut; "
                       "nichts zu tun."),
    "timeout": N_("Die Website hat nicht rechtzeitig geantwortet. Oft ist das vorübergehend; der Link wird bald "
                  "erneut geprüft."),
    "refused": N_("Der Server nimmt keine Verbindungen an. Ist die Website abgeschaltet? Bleibt der Fehler, "
                  "fragen Sie beim Träger nach."),
    "connection": N_("Die Verbindung brach ab. Oft ist das vorübergehend; der Link wird bald erneut geprüft."),
    "redirect_loop": N_("Die Website leitet im Kreis um und zeigt nie eine Seite. Informieren Sie den Träger oder "
                        "suchen Sie eine andere Adresse."),
    "too_many_redirects": N_("Die Website leitet zu oft weiter. Öffnen Sie den Link im Browser und übernehmen Sie "
                             "die Adresse, bei der Sie ankommen."),
    "tls_expired": N_("Das Sicherheitszertifikat der Website ist abgelaufen; Browser zeigen eine Warnung. "
                      "Informieren Sie den Träger."),
    "tls_self_signed": N_("Die Website nutzt ein selbst ausgestelltes Zertifikat; Browser zeigen eine Warnung. "
                          "Informieren Sie den Träger."),
    "tls_hostname": N_("Das Zertifikat gehört zu einem anderen Namen; Browser zeigen eine Warnung. Vielleicht gibt "
                       "es eine richtige Adresse (mit oder ohne www)."),
    "tls_untrusted": N_("Das Zertifikat stammt von keiner anerkannten Stelle; Browser zeigen eine Warnung. "
                        "Informieren Sie den Träger."),
    "tls_other": N_("Die sichere Verbindung kam nicht zustande. Öffnen Sie den Link im Browser; bleibt der Fehler, "
                    "informieren Sie den Träger."),
    "blocked": N_("Die Website sperrt automatische Abrufe. Öffnen Sie den Link im Browser: Funktioniert er, "
                  "markieren Sie ihn als in Ordnung."),
    "robots": N_("Die Website verbietet automatische Abrufe (robots.txt); der Prüfdienst hält sich daran. Bitte "
                 "prüfen Sie den Link von Hand."),
    "private_address": N_("Die Adresse zeigt auf ein internes Netz; der Prüfdienst darf sie nicht aufrufen. "
                          "Bitte von Hand prüfen – für Besucherinnen und Besucher ist sie wohl nicht erreichbar."),
}

FIELD_LABELS = {
    ("organization", "website"): N_("Website der Organisation"),
    ("organization", "description"): N_("Beschreibung der Organisation"),
    ("service", "url"): N_("Internetseite des Angebots"),
    ("service", "description"): N_("Beschreibung des Angebots"),
    ("service", "application_process"): N_("So geht es los"),
    ("service", "fees_description"): N_("Kosten"),
    ("service", "eligibility_description"): N_("Voraussetzungen"),
    ("service", "alert"): N_("Hinweis"),
    ("location", "url"): N_("Internetseite des Standorts"),
    ("location", "description"): N_("Beschreibung des Standorts"),
    ("location", "accessibility_description"): N_("Barrierefreiheit"),
    ("location", "transportation"): N_("Anfahrt"),
}


def state_label(state: str | None) -> str:
    """Translated name of a state."""
    return _(STATE_LABELS.get(state or "new", state or ""))


def kind_label(kind: str | None) -> str:
    """Translated name of a finding."""
    return _(KIND_LABELS.get(kind or "ok", kind or ""))


def kind_advice(kind: str | None) -> str:
    """Translated advice for a finding."""
    text = KIND_ADVICE.get(kind or "ok")
    return _(text) if text else ""


def field_label(entity_type: str, field: str) -> str:
    """Translated name of an entry field (the column name for fields added later)."""
    text = FIELD_LABELS.get((entity_type, field))
    return _(text) if text else field
