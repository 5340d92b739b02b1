"""German text analysis for search: folding, tokens, Snowball stems, compound parts and highlighting."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Bump when the analysis changes: an index built with another version is rebuilt.
ANALYSIS_VERSION = 7

TOKEN_RE = re.compile(r"[^\W_]+")
# ae/oe/ue spell umlauts only after a consonant: "Luedenscheid", but not "Frauen" or "Quelle".
DIGRAPHS = re.compile(r"(?<![aeiouyq])(?:ue|ae|oe)")

STOPWORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm andern anderr
anders auch auf aus bei bin bis bist da damit dann das dass dasselbe dazu dein deine deinem deinen deiner deines dem
demselben den denn denselben der derer derselbe derselben des desselben dessen dich die dies diese dieselbe dieselben
diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines einig einige einigem einigen einiger
einiges einmal er es etwas euch euer eure eurem euren eurer eures fur gegen gewesen hab habe haben hat hatte hatten
hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem jeden jeder jedes
jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines konnen konnte machen man manche manchem
manchen mancher manches mehr mein meine meinem meinen meiner meines mich mir mit muss musste nach nicht nichts noch nun nur
ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie sind so solche solchem solchen solcher solches
soll sollte sondern sonst uber um und uns unsere unserem unseren unser unseres unter viel vom von vor wahrend war waren
warst was weg weil weiter welche welchem welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo
wollen wollte wurde wurden zu zum zur zwar zwischen
""".split())

# Word parts for splitting compounds (folded, singular). The head (last part) matters most in German
# compounds: "Schuldnerberatung" is a kind of "Beratung". Changing this list needs `flask reindex`.
WORD_PARTS = frozenset("""
abhangigkeit alkohol alltag alten alter ambulanz amt angebot angehorige angst anlauf antrag arbeit arbeitslos arzt
assistenz aufnahme ausbildung ausdauer begegnung begleitung behandlung behinderung behorde beistand beratung beruf
beschaftigung besuch betreuung betrieb bewegung bewerbung bildung budget burger cafe coaching depression diagnostik
dienst drogen ehe ehrenamt eingliederung einrichtung eltern energie entlastung entspannung entzug erwachsene erziehung
essen fach fahr fall familie ferien finanz fitness flucht forderung frau freizeit fruh gebaude geld gemeinde gemeinschaft
gesellschaft gesprach gesundheit gewalt glucksspiel grund gruppe gutschein haus haushalt heim hilfe hospiz hotline
inklusion insolvenz integration jugend jugendliche kammer kasse kind kinder kleider klient klinik kontakt koordination
kosten kranken krankheit kreis krise kultur kur kurs laden lauf leben lebens lehr leistung lern lotse mann medizin
menschen miete migration mobilitat mutter nacht not notfall obdach orientierung paar pate pflege platz praxis pravention
psycho psychiatrie qualifizierung quartier rat recht reha rehabilitation rente ruckfall rucken schlaf schuldner schulden
schuld schule schutz schwangerschaft seele seelsorge selbst senioren statt statte storung erkrankung job center sozial sozialarbeit sport sprach sprechstunde
stadt stelle stress struktur studium sucht tafel tag tages teilhabe telefon termin therapie ticket training trauer trauma treff
treffpunkt uberbruckung unterkunft unterstutzung vater verband verein vermittlung versicherung versorgung vorsorge werk
werkstatt wohnen wohnung zahn zentrum zuhause zukunft
""".split())
LINKS = ("", "s", "n", "en", "e", "es", "er", "ns")
MIN_UNKNOWN_PART = 5

_stemmer = snowballstemmer.stemmer("german")


def fold(text: str) -> str:
    """Lower-case and fold umlauts and their spellings: Lüdenscheid, Luedenscheid and Ludenscheid become ludenscheid."""
    text = text.casefold().replace("ß", "ss")
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return DIGRAPHS.sub(lambda m: m.group(0)[0], text)


fold_word = lru_cache(maxsize=200_000)(fold)


def tokens(text: str) -> list[str]:
    """Folded words of a text, in order (punctuation, symbols and emoji dropped)."""
    if not text:
        return []
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    # Split first, then fold word by word: words repeat, so the cache makes folding nearly free.
    return [f for w in TOKEN_RE.findall(text) for f in TOKEN_RE.findall(fold_word(w))]


def spelling(word: str, text: str) -> str | None:
    """How a text spells a folded word (schuldgefuhlen -> Schuldgefühlen), or None when the text does not hold it."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return next((raw for raw in TOKEN_RE.findall(text) if fold_word(raw) == word), None)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """German Snowball stem of a folded word (cached: the pure-Python stemmer is slow)."""
    if len(word) < 3 or word.isdigit():
        return word
    if word.endswith("kurs"):
        # Snowball makes "Kurs" "kur" (but "Kurse" "kurs"): "Kur beantragen" found every course, and a search for
        # "Kurs" missed the offers that say "Kurse".
        return word
    return _stemmer.stemWord(word)


@lru_cache(maxsize=200_000)
def split_compound(word: str) -> tuple[str, ...]:
    """Split a folded compound into parts (head last); a word that is no compound gives ()."""
    if len(word) < 7 or not word.isalpha():
        return ()
    return tuple(_split(word, 0) or ())


def _split(word: str, depth: int) -> list[str] | None:
    """Longest known head first, then the modifier in front of it; an unknown modifier only at the top."""
    if depth > 4:
        return None
    for cut in range(3, len(word) - 2):
        head = word[cut:]
        if head not in WORD_PARTS:
            continue
        modifier = word[:cut]
        rest = _split_modifier(modifier, depth + 1)
        if rest:
            return rest + [head]
        if depth == 0 and len(modifier) >= MIN_UNKNOWN_PART:
            return [modifier, head]
    return None


def _split_modifier(modifier: str, depth: int) -> list[str] | None:
    """Split the front of a compound, allowing a linking element (Fugen-s, -n, -en ...) at its end."""
    for link in LINKS:
        if link and not modifier.endswith(link):
            continue
        base = modifier[: len(modifier) - len(link)]
        if len(base) < 3:
            continue
        for known in (base, base + "e"):
            if known in WORD_PARTS:
                return [known]
        parts = _split(base, depth)
        if parts:
            return parts
    return None


@dataclass(frozen=True)
class Analysed:
    """The index terms of one text: stems for ranking, parts (stems and compound parts), plain words."""

    stems: list[str]
    parts: list[str]
    words: list[str]


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str, tuple[str, ...]]:
    """Stem and compound-part stems of one folded word."""
    return stem(word), tuple(stem(p) for p in split_compound(word))


def analyse(text: str) -> Analysed:
    """Analyse a text for the index."""
    stems: list[str] = []
    parts: list[str] = []
    words: list[str] = []
    for word in tokens(text):
        if len(word) < 2:
            continue
        words.append(word)
        if word in STOPWORDS:
            continue
        s, compound = word_terms(word)
        stems.append(s)
        parts.append(s)
        parts.extend(compound)
    return Analysed(stems, parts, words)


def query_words(text: str, limit: int) -> list[str]:
    """Folded query words without stop words and boolean operators, at most `limit`."""
    raw = [w for w in TOKEN_RE.findall(text or "") if w not in ("AND", "OR", "NOT", "UND", "ODER", "NICHT")]
    words = [w for w in tokens(" ".join(raw)) if len(w) >= 2]
    kept = [w for w in words if w not in STOPWORDS] or words
    return kept[:limit]


@lru_cache(maxsize=4_096)  # offer names and snippets recur from search to search (a few MB at most)
def token_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, folded word) of every word in the original text, for highlighting."""
    return tuple((m.start(), m.end(), fold_word(m.group(0))) for m in TOKEN_RE.finditer(text or ""))


@lru_cache(maxsize=50_000)  # the same words recur in every result list; terms are hashed once per frozenset
def _is_hit(word: str, terms: frozenset[str], prefixes: tuple[str, ...]) -> bool:
    s, compound = word_terms(word)
    if word in terms or s in terms or any(p in terms for p in compound):
        return True
    return any(s.startswith(p) or any(c.startswith(p) for c in compound) for p in prefixes)


def highlight(text: str, terms: frozenset[str], prefixes: tuple[str, ...] = ()) -> list[tuple[str, bool]]:
    """Split a text into (piece, matched) segments; a word matches when its stem or a compound part does."""
    if not text:
        return []
    segments: list[tuple[str, bool]] = []
    pos = 0
    for start, end, word in token_spans(text):
        if not _is_hit(word, terms, prefixes):
            continue
        if start > pos:
            segments.append((text[pos:start], False))
        segments.append((text[start:end], True))
        pos = end
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def snippet(text: str, terms: frozenset[str], prefixes: tuple[str, ...] = (), width: int = 220) -> str:
    """A piece of a long text around its first matched word, cut at word boundaries."""
    if not text or len(text) <= width:
        return text or ""
    first = next((start for start, _end, word in token_spans(text) if _is_hit(word, terms, prefixes)), 0)
    begin = max(0, first - width // 3)
    if begin:
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < first else begin
    end = min(len(text), begin + width)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > first else end
    return ("… " if begin else "") + text[begin:end].strip() + (" …" if end < len(text) else "")
