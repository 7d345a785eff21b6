"""Writes messages.jsonl, the labelled set the gazetteer is measured on (see README.md).

Run from the project root: .venv/bin/python tests/data/places/make_messages.py
"""

import json
import random
from pathlib import Path

# (crisis, language, text, expected label or "" for none). Written by hand in the style of the
# 2010 Mission 4636 SMS and of messages from the 2023 Derna floods: place names misspelt, in
# Creole, French, English, Spanish and Arabic, without capitals, with street numbers.
WRITTEN = [
    ("haiti", "ht", "nou bezwen dlo nan delmas 33 depi lendi pa gen anyen", "place:Delmas 33"),
    ("haiti", "en", "WATER Delmas 33 no water since Monday", "place:Delmas 33"),
    ("haiti", "ht", "moun blese anpil nan kafou bo lekol la", "pcode:HT0113"),
    ("haiti", "fr", "Besoin urgent de tentes à Léogâne, 40 familles dehors", "pcode:HT0121"),
    ("haiti", "fr", "besoin urgent de tentes a leogane 40 familles dehors", "pcode:HT0121"),
    ("haiti", "ht", "nou nan leyogan nou pa gen manje", "pcode:HT0121"),
    ("haiti", "fr", "Plusieurs maisons effondrées à Petion-ville, rue Grégoire", "pcode:HT0114"),
    ("haiti", "ht", "petyonvil kay kraze moun anba dekonm", "pcode:HT0114"),
    ("haiti", "en", "trapped people under rubble in petionville near the market", "pcode:HT0114"),
    ("haiti", "fr", "Le camp Acra a besoin d'eau potable et de latrines", "place:Camp Acra"),
    ("haiti", "ht", "kan akra bezwen dlo ak twalet", "place:Camp Acra"),
    ("haiti", "en", "Cholera cases reported at Camp Corail, need ORS", "place:Camp Corail"),
    ("haiti", "fr", "cas de choléra au camp corail, besoin de SRO", "place:Camp Corail"),
    ("haiti", "ht", "gen kolera nan kan koray", "place:Camp Corail"),
    (
        "haiti",
        "en",
        "HUEH needs surgeons and blood, emergency room full",
        "place:Hôpital de l'Université d'État d'Haïti",
    ),
    (
        "haiti",
        "fr",
        "L'Hôpital Général manque de sang et de chirurgiens",
        "place:Hôpital de l'Université d'État d'Haïti",
    ),
    ("haiti", "ht", "lopital jeneral pa gen san", "place:Hôpital de l'Université d'État d'Haïti"),
    ("haiti", "fr", "Des milliers de personnes dorment au Champ de Mars", "place:Champ de Mars"),
    ("haiti", "ht", "anpil moun ap dòmi nan channmas", "place:Champ de Mars"),
    ("haiti", "en", "food distribution needed in cite soleil, people fighting", "pcode:HT0117"),
    ("haiti", "ht", "site soley pa jwenn manje depi 3 jou", "pcode:HT0117"),
    ("haiti", "fr", "Cité Soleil: pas de distribution de nourriture depuis 3 jours", "pcode:HT0117"),
    ("haiti", "en", "Jacmel hospital overwhelmed, need medical supplies", "pcode:HT0211"),
    ("haiti", "ht", "jakmel bezwen medikaman", "pcode:HT0211"),
    ("haiti", "fr", "L'hôpital Saint-Michel de Jacmel déborde", "place:Hôpital Saint-Michel"),
    ("haiti", "es", "Necesitamos agua potable en Puerto Príncipe, barrio Bel Air", "place:Bel Air"),
    ("haiti", "ht", "bele gen moun ki mouri anba kay", "place:Bel Air"),
    ("haiti", "en", "bel air: bodies under collapsed houses", "place:Bel Air"),
    ("haiti", "fr", "Martissant: route bloquée par un glissement de terrain", "place:Martissant"),
    ("haiti", "ht", "wout matisan bloke", "place:Martissant"),
    ("haiti", "fr", "Canapé-Vert, plusieurs blessés, besoin d'ambulance", "place:Canapé-Vert"),
    ("haiti", "ht", "kanape ve gen blese nou bezwen anbilans", "place:Canapé-Vert"),
    ("haiti", "en", "carrefour feuilles school collapsed with children inside", "place:Carrefour-Feuilles"),
    ("haiti", "ht", "lekol la tonbe nan kafou fey timoun yo anndan", "place:Carrefour-Feuilles"),
    ("haiti", "fr", "Fort National: 20 familles sans abri", "place:Fort National"),
    ("haiti", "ht", "jalouzi glisman teren kay tonbe", "place:Jalousie"),
    ("haiti", "en", "Planes landing at Toussaint Louverture need fuel", "place:Aéroport Toussaint Louverture"),
    ("haiti", "fr", "Le stade Sylvio Cator sert d'abri à 2000 personnes", "place:Stade Sylvio Cator"),
    ("haiti", "en", "PV Club camp needs latrines urgently", "place:Pétion-Ville Club"),
    ("haiti", "ht", "titanyen nou bezwen dlo", "place:Titanyen"),
    ("haiti", "fr", "Fond Parisien: afflux de blessés vers la frontière", "place:Fond Parisien"),
    ("haiti", "ht", "lamanten gen anpil moun san kay", "place:Lamentin"),
    ("haiti", "en", "Mariani bridge damaged, trucks cannot pass", "place:Mariani"),
    ("haiti", "fr", "Bon Repos: l'eau manque depuis dimanche", "place:Bon Repos"),
    ("haiti", "ht", "kwadebouke bezwen tant", "pcode:HT0131"),
    ("haiti", "fr", "Croix-des-Bouquets: besoin de tentes et de bâches", "pcode:HT0131"),
    ("haiti", "fr", "croix des bouquet besoin de baches", "pcode:HT0131"),
    ("haiti", "en", "Gressier church collapsed, need rescue team", "pcode:HT0116"),
    ("haiti", "ht", "gresye legliz la kraze", "pcode:HT0116"),
    ("haiti", "fr", "Petit-Goâve: le marché est détruit", "pcode:HT0122"),
    ("haiti", "ht", "tigwav mache a kraze", "pcode:HT0122"),
    ("haiti", "fr", "Grand Goave manque de médicaments", "pcode:HT0123"),
    ("haiti", "en", "arcahaie road open, supplies can go north", "pcode:HT0141"),
    ("haiti", "ht", "akaye wout la louvri", "pcode:HT0141"),
    ("haiti", "fr", "Cabaret: 300 déplacés arrivés de Port-au-Prince", "pcode:HT0142"),
    ("haiti", "ht", "kabare gen 300 moun ki soti potoprens", "pcode:HT0142"),
    ("haiti", "fr", "Kenscoff: routes coupées, villages isolés", "pcode:HT0115"),
    ("haiti", "fr", "Tabarre: besoin de kits d'hygiène", "pcode:HT0118"),
    ("haiti", "en", "Cap Haitien receiving displaced families from the capital", "pcode:HT0311"),
    ("haiti", "ht", "okap ap resevwa moun ki soti potoprens", "pcode:HT0311"),
    ("haiti", "fr", "Gonaïves: l'hôpital reçoit des blessés de la capitale", "pcode:HT0511"),
    ("haiti", "ht", "gonayiv lopital la plen", "pcode:HT0511"),
    ("haiti", "fr", "Saint-Marc: 5000 déplacés hébergés dans les écoles", "pcode:HT0521"),
    ("haiti", "ht", "sen mak gen 5000 moun nan lekol yo", "pcode:HT0521"),
    ("haiti", "en", "Hinche needs food for displaced people", "pcode:HT0611"),
    ("haiti", "fr", "Mirebalais: besoin de médecins", "pcode:HT0631"),
    ("haiti", "ht", "mibale bezwen doktè", "pcode:HT0631"),
    ("haiti", "fr", "Les Cayes: pas de dégâts majeurs, accueil de déplacés", "pcode:HT0711"),
    ("haiti", "ht", "okay ap resevwa moun", "pcode:HT0711"),
    ("haiti", "fr", "Jérémie: bateau de vivres attendu", "pcode:HT0811"),
    ("haiti", "fr", "Miragoâne: pont endommagé sur la route nationale 2", "pcode:HT1011"),
    ("haiti", "es", "En Leogane hay muchos heridos y faltan medicinas", "pcode:HT0121"),
    ("haiti", "es", "Necesitamos carpas en Carrefour urgente", "pcode:HT0113"),
    ("haiti", "es", "Hospital en Jacmel sin electricidad", "pcode:HT0211"),
    ("haiti", "es", "Familias sin agua en Delmas 32", "place:Delmas 32"),
    ("haiti", "ht", "dlo pa genyen nan dema 75", "place:Delmas 75"),
    ("haiti", "en", "Delmas 75 collapsed building people trapped", "place:Delmas 75"),
    ("haiti", "fr", "Saint-Louis du Nord: inondations après les pluies", "pcode:HT0921"),
    ("haiti", "fr", "Port-de-Paix attend des vivres", "pcode:HT0911"),
    ("haiti", "en", "HT0112 water point broken", "pcode:HT0112"),
    ("haiti", "ht", "mwen nan dèlma nou bezwen ed", "pcode:HT0112"),
    ("haiti", "fr", "Delmas: plusieurs immeubles effondrés", "pcode:HT0112"),
    ("haiti", "en", "Potoprens downtown fires, need firefighters", "pcode:HT0111"),
    ("haiti", "fr", "Port au Prince centre-ville: incendies", "pcode:HT0111"),
    ("haiti", "ht", "nou pa gen dlo, nou pa gen manje, ede nou", ""),
    ("haiti", "en", "please help my family we have no food", ""),
    ("haiti", "fr", "merci pour votre aide, nous sommes en sécurité", ""),
    ("haiti", "ht", "mesi anpil pou ed la", ""),
    ("haiti", "en", "where can I find my brother? his name is Jean", ""),
    ("haiti", "fr", "la route est bloquée par des débris", ""),
    ("haiti", "es", "necesitamos ayuda urgente, hay heridos", ""),
    ("haiti", "en", "is the water safe to drink now?", ""),
    ("libya", "ar", "انهيار مبنى في درنة والناس تحت الأنقاض", "pcode:LY0101"),
    ("libya", "ar", "نحتاج مياه شرب في البيضاء", "pcode:LY0201"),
    ("libya", "ar", "بالبيضاء عائلات بدون مأوى", "pcode:LY0201"),
    ("libya", "ar", "الطريق إلى شحات مقطوع بسبب السيول", "pcode:LY0202"),
    ("libya", "ar", "في سوسة عشرات المفقودين", "pcode:LY0203"),
    ("libya", "ar", "المرج تحتاج فرق إنقاذ", "pcode:LY03"),
    ("libya", "ar", "مستشفى الوحدة يحتاج أكياس دم", "place:Al Wahda Hospital"),
    ("libya", "ar", "وادي درنة جرف البيوت", "place:Wadi Derna"),
    ("libya", "ar", "حي البلاد غمرته المياه بالكامل", "place:Al Bilad"),
    ("libya", "ar", "انهار سد أبو منصور", "place:Abu Mansour Dam"),
    ("libya", "ar", "منطقة المغار بحاجة إلى طعام", "place:Al Maghar"),
    ("libya", "ar", "جثث على الشاطئ قرب ميناء درنة", "place:Derna Port"),
    ("libya", "ar", "في القبة نازحون من درنة", "pcode:LY0102"),
    ("libya", "ar", "طبرق تستقبل الجرحى", "pcode:LY0501"),
    ("libya", "ar", "بنغازي ترسل قوافل مساعدات", "pcode:LY04"),
    ("libya", "ar", "شيحا منازل مدمرة", "place:Shiha"),
    ("libya", "ar", "نحتاج مساعدة عاجلة", ""),
    ("libya", "ar", "شكرا لكم على المساعدة", ""),
    ("libya", "en", "Derna: whole neighbourhoods washed into the sea", "pcode:LY0101"),
    ("libya", "en", "Darnah hospital overwhelmed", "pcode:LY0101"),
    ("libya", "en", "Wadi Darnah bridge gone", "place:Wadi Derna"),
    ("libya", "en", "Beida needs blankets and water", "pcode:LY0201"),
    ("libya", "en", "Al Bayda families sheltering in schools", "pcode:LY0201"),
    ("libya", "en", "road to Shahat blocked by mud", "pcode:LY0202"),
    ("libya", "en", "Susa port damaged, boats lost", "pcode:LY0203"),
    ("libya", "en", "Tobruk hospital receiving injured from Derna", "pcode:LY0501"),
    ("libya", "en", "Al Bilad district flooded completely", "place:Al Bilad"),
    ("libya", "en", "Abu Mansour dam collapsed last night", "place:Abu Mansour Dam"),
    ("libya", "en", "Al Qubah hosting displaced families", "pcode:LY0102"),
    ("libya", "en", "please send rescue teams", ""),
    ("libya", "fr", "Derna: des quartiers entiers emportés", "pcode:LY0101"),
    ("libya", "fr", "Besoin d'eau à Al Bayda", "pcode:LY0201"),
    ("libya", "fr", "Le barrage Abu Mansour a cédé", "place:Abu Mansour Dam"),
    ("libya", "es", "Inundaciones en Derna, miles de desaparecidos", "pcode:LY0101"),
    # Hard ones, labelled as a person reading them would: a name two communes share, words that
    # are also place names, and places the gazetteer does not hold ("unknown:" labels, which no
    # detection can match: they count against recall, and against precision when something
    # else is found instead).
    ("haiti", "fr", "Saint-Louis: pas d'eau depuis 3 jours", ""),
    ("haiti", "fr", "Saint-Louis du Sud: pas d'eau depuis 3 jours", "pcode:HT0721"),
    ("haiti", "en", "water shortage in the centre of the camp", ""),
    ("haiti", "fr", "Nord: routes coupées vers Limbé", "pcode:HT0341"),
    ("haiti", "en", "okay thanks we are fine now", ""),
    ("haiti", "en", "bridge at Carrefour Drouillard collapsed", "unknown:Carrefour Drouillard"),
    ("haiti", "fr", "Rue Pavée: immeuble effondré, des gens coincés", "unknown:Rue Pavée"),
    ("haiti", "ht", "nou nan plenn kildesak pa gen dlo", "unknown:Plaine du Cul-de-Sac"),
    ("haiti", "fr", "Belle Anse: la population a besoin de vivres", "pcode:HT0231"),
    ("haiti", "en", "Morne Hercule slope collapsed onto houses", "unknown:Morne Hercule"),
    ("libya", "ar", "الوضع في الجبل الأخضر صعب", "pcode:LY02"),
    ("libya", "en", "the green mountain villages are cut off", "pcode:LY02"),
]

# Generated: mentions written the ways people write them (as above) in a few sentence frames
# per language, with one letter dropped or swapped in part of them (the misspellings of a
# hurried SMS), seeded so the file is the same every time.
FRAMES = {
    "ht": [
        "nou bezwen dlo nan {p}",
        "{p} moun blese anpil",
        "kay kraze nan {p} ede nou",
        "pa gen manje {p} depi 2 jou",
    ],
    "fr": [
        "Besoin d'eau potable à {p}",
        "{p}: plusieurs blessés graves",
        "Familles sans abri à {p}",
        "Route coupée vers {p}",
    ],
    "en": [
        "Need water in {p}",
        "{p} many injured need doctors",
        "families without shelter at {p}",
        "road to {p} blocked",
    ],
    "es": ["Necesitamos agua en {p}", "Muchos heridos en {p}", "Familias sin casa en {p}"],
}
MENTIONS = [
    ("Delmas", "pcode:HT0112"),
    ("Carrefour", "pcode:HT0113"),
    ("Leogane", "pcode:HT0121"),
    ("Petionville", "pcode:HT0114"),
    ("Gressier", "pcode:HT0116"),
    ("Tabarre", "pcode:HT0118"),
    ("Jacmel", "pcode:HT0211"),
    ("Kenscoff", "pcode:HT0115"),
    ("Croix des Bouquets", "pcode:HT0131"),
    ("Grand Goave", "pcode:HT0123"),
    ("Petit Goave", "pcode:HT0122"),
    ("Cite Soleil", "pcode:HT0117"),
    ("Martissant", "place:Martissant"),
    ("Canape Vert", "place:Canapé-Vert"),
    ("Camp Corail", "place:Camp Corail"),
    ("Champ de Mars", "place:Champ de Mars"),
    ("Delmas 33", "place:Delmas 33"),
    ("Titanyen", "place:Titanyen"),
    ("Arcahaie", "pcode:HT0141"),
    ("Mirebalais", "pcode:HT0631"),
]


def misspell(name: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 7:
        return name
    i = rng.choice(letters[2:-1])
    if rng.random() < 0.5:
        return name[:i] + name[i + 1 :]  # a letter dropped
    return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]  # two letters swapped


def generated() -> list[tuple[str, str, str, str]]:
    rng = random.Random(4636)
    rows = []
    for name, label in MENTIONS:
        for language in ("ht", "fr", "en"):
            frame = rng.choice(FRAMES[language])
            written = misspell(name, rng) if rng.random() < 0.4 else name
            if rng.random() < 0.5:
                written = written.lower()
            rows.append(("haiti", language, frame.format(p=written), label))
    return rows


def main() -> None:
    rows = WRITTEN + generated()
    out = Path(__file__).with_name("messages.jsonl")
    with out.open("w", encoding="utf-8") as handle:
        for number, (crisis, language, text, label) in enumerate(rows, 1):
            record = {"id": number, "crisis": crisis, "language": language, "text": text, "place": label or None}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} messages to {out}")


if __name__ == "__main__":
    main()
