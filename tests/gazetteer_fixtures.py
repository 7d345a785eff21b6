"""Two crises' places for the gazetteer tests and bench: Haiti (2010 earthquake) and eastern
Libya (2023 Derna floods). Hand-made approximations, not OCHA data: each admin area is a box
around the real place's approximate centre, named with its real names (French, Creole,
Arabic); Haiti's P-codes follow the OCHA HTI scheme (HT01 Ouest, HT0112 Delmas ...), Libya's
are illustrative (LYxx). The layer holds named places (neighbourhoods, camps, hospitals) at
approximate positions."""

from __future__ import annotations

from typing import Any

HAITI_BBOX = "-74.5,17.9,-71.6,20.1"
LIBYA_BBOX = "19.5,31.5,24.5,33.2"

# (pcode, name, other names, lon, lat, half-size in degrees)
HAITI_ADM1 = [
    ("HT01", "Ouest", ["Lwès", "West"], -72.4, 18.55, 0.45),
    ("HT02", "Sud-Est", ["Sidès", "South-East"], -72.4, 18.25, 0.35),
    ("HT03", "Nord", ["Nò", "North"], -72.2, 19.65, 0.25),
    ("HT04", "Nord-Est", ["Nòdès", "North-East"], -71.85, 19.55, 0.2),
    ("HT05", "Artibonite", ["Latibonit"], -72.6, 19.25, 0.3),
    ("HT06", "Centre", ["Sant"], -72.0, 19.0, 0.3),
    ("HT07", "Sud", ["Sid", "South"], -73.7, 18.2, 0.3),
    ("HT08", "Grand'Anse", ["Grandans"], -74.1, 18.55, 0.25),
    ("HT09", "Nord-Ouest", ["Nòdwès", "North-West"], -73.0, 19.85, 0.3),
    ("HT10", "Nippes", ["Nip"], -73.3, 18.45, 0.2),
]
HAITI_ADM2 = [
    ("HT0111", "Port-au-Prince", ["Pòtoprens", "Potoprens", "Puerto Príncipe", "PAP"], "HT01", -72.339, 18.543, 0.03),
    ("HT0112", "Delmas", ["Dèlma"], "HT01", -72.300, 18.550, 0.025),
    ("HT0113", "Carrefour", ["Kafou"], "HT01", -72.409, 18.535, 0.04),
    ("HT0114", "Pétion-Ville", ["Petyonvil", "Petionville"], "HT01", -72.285, 18.512, 0.025),
    ("HT0115", "Kenscoff", ["Kenskòf"], "HT01", -72.280, 18.450, 0.04),
    ("HT0116", "Gressier", ["Gresye"], "HT01", -72.530, 18.540, 0.04),
    ("HT0117", "Cité Soleil", ["Site Solèy", "Cite Soley"], "HT01", -72.330, 18.580, 0.02),
    ("HT0118", "Tabarre", ["Taba"], "HT01", -72.270, 18.580, 0.02),
    ("HT0121", "Léogâne", ["Leyogàn", "Leogane"], "HT01", -72.633, 18.511, 0.06),
    ("HT0122", "Petit-Goâve", ["Tigwav", "Ti Gwav"], "HT01", -72.866, 18.431, 0.06),
    ("HT0123", "Grand-Goâve", ["Grangwav"], "HT01", -72.770, 18.430, 0.05),
    ("HT0131", "Croix-des-Bouquets", ["Kwadebouke", "Kwadèbouke"], "HT01", -72.230, 18.580, 0.05),
    ("HT0132", "Thomazeau", ["Tomazo"], "HT01", -72.090, 18.650, 0.05),
    ("HT0133", "Ganthier", ["Gantye"], "HT01", -72.070, 18.530, 0.05),
    ("HT0141", "Arcahaie", ["Akayè", "Arcahaye"], "HT01", -72.510, 18.770, 0.06),
    ("HT0142", "Cabaret", ["Kabarè"], "HT01", -72.420, 18.730, 0.05),
    ("HT0151", "Anse-à-Galets", ["Ansagale"], "HT01", -72.860, 18.830, 0.06),
    ("HT0211", "Jacmel", ["Jakmèl"], "HT02", -72.535, 18.234, 0.05),
    ("HT0212", "Marigot", ["Marigo"], "HT02", -72.320, 18.230, 0.04),
    ("HT0221", "Bainet", ["Benè"], "HT02", -72.750, 18.180, 0.05),
    ("HT0231", "Belle-Anse", ["Bèlans"], "HT02", -72.070, 18.240, 0.05),
    ("HT0311", "Cap-Haïtien", ["Okap", "Cap Haitien", "Le Cap"], "HT03", -72.200, 19.760, 0.04),
    ("HT0312", "Limonade", ["Limonad"], "HT03", -72.120, 19.670, 0.04),
    ("HT0321", "Milot", ["Milo"], "HT03", -72.210, 19.610, 0.04),
    ("HT0341", "Limbé", ["Lenbe"], "HT03", -72.400, 19.700, 0.04),
    ("HT0411", "Fort-Liberté", ["Fòlibète"], "HT04", -71.840, 19.660, 0.04),
    ("HT0421", "Ouanaminthe", ["Wanament"], "HT04", -71.720, 19.550, 0.04),
    ("HT0511", "Gonaïves", ["Gonayiv", "Les Gonaives"], "HT05", -72.690, 19.450, 0.05),
    ("HT0521", "Saint-Marc", ["Sen Mak"], "HT05", -72.700, 19.110, 0.05),
    ("HT0531", "Dessalines", ["Desalin", "Marchand Dessalines"], "HT05", -72.510, 19.260, 0.05),
    ("HT0541", "Verrettes", ["Verèt"], "HT05", -72.470, 19.050, 0.05),
    ("HT0611", "Hinche", ["Ench"], "HT06", -72.010, 19.150, 0.05),
    ("HT0631", "Mirebalais", ["Mibalè"], "HT06", -72.100, 18.830, 0.05),
    ("HT0632", "Lascahobas", ["Laskawobas"], "HT06", -71.940, 18.830, 0.05),
    ("HT0711", "Les Cayes", ["Okay", "Aux Cayes"], "HT07", -73.750, 18.190, 0.05),
    ("HT0721", "Saint-Louis du Sud", ["Sen Lwi di Sid", "Saint-Louis"], "HT07", -73.550, 18.260, 0.04),
    ("HT0731", "Port-Salut", ["Pòsali"], "HT07", -73.920, 18.080, 0.04),
    ("HT0741", "Aquin", ["Aken"], "HT07", -73.400, 18.280, 0.05),
    ("HT0811", "Jérémie", ["Jeremi"], "HT08", -74.110, 18.650, 0.05),
    ("HT0831", "Dame-Marie", ["Dammari"], "HT08", -74.420, 18.560, 0.04),
    ("HT0911", "Port-de-Paix", ["Podpe", "Pòdepè"], "HT09", -72.830, 19.940, 0.05),
    ("HT0921", "Saint-Louis du Nord", ["Sen Lwi di Nò", "Saint-Louis"], "HT09", -72.720, 19.930, 0.04),
    ("HT0931", "Môle-Saint-Nicolas", ["Mòlsennikola", "Mole Saint Nicolas"], "HT09", -73.380, 19.810, 0.05),
    ("HT1011", "Miragoâne", ["Miragwàn", "Miragoane"], "HT10", -73.090, 18.440, 0.05),
    ("HT1021", "Anse-à-Veau", ["Ansavo"], "HT10", -73.340, 18.500, 0.05),
]
# (name, other names, lon, lat)
HAITI_PLACES = [
    ("Hôpital de l'Université d'État d'Haïti", ["HUEH", "Hôpital Général", "Lopital Jeneral"], -72.3375, 18.5405),
    ("Champ de Mars", ["Channmas"], -72.3385, 18.5435),
    ("Camp Corail", ["Corail-Cesselesse", "Kan Koray"], -72.230, 18.660),
    ("Camp Acra", ["Kan Akra"], -72.2950, 18.5445),
    ("Delmas 33", [], -72.298, 18.553),
    ("Delmas 32", [], -72.300, 18.551),
    ("Delmas 75", [], -72.285, 18.537),
    ("Bel Air", ["Belè"], -72.336, 18.548),
    ("Martissant", ["Matisan"], -72.365, 18.525),
    ("Canapé-Vert", ["Kanape Vè"], -72.318, 18.532),
    ("Carrefour-Feuilles", ["Kafou Fèy"], -72.345, 18.528),
    ("Fort National", ["Fò Nasyonal"], -72.330, 18.548),
    ("Jalousie", ["Jalouzi"], -72.294, 18.507),
    ("Aéroport Toussaint Louverture", ["Toussaint Louverture"], -72.290, 18.580),
    ("Stade Sylvio Cator", ["Sylvio Cator"], -72.338, 18.541),
    ("Pétion-Ville Club", ["PV Club"], -72.290, 18.515),
    ("Titanyen", [], -72.410, 18.700),
    ("Fond Parisien", ["Fon Parizyen"], -71.980, 18.500),
    ("Lamentin", ["Lamanten"], -72.420, 18.530),
    ("Mariani", [], -72.450, 18.520),
    ("Hôpital Saint-Michel", ["Lopital Sen Michèl"], -72.537, 18.236),
    ("Bon Repos", ["Bon Ripo"], -72.270, 18.610),
]
LIBYA_ADM1 = [
    ("LY01", "Derna", ["درنة", "Darnah"], 22.50, 32.65, 0.35),
    ("LY02", "Al Jabal al Akhdar", ["الجبل الأخضر", "Jebel Akhdar", "Green Mountain"], 21.70, 32.70, 0.35),
    ("LY03", "Al Marj", ["المرج", "Marj"], 20.80, 32.40, 0.3),
    ("LY04", "Benghazi", ["بنغازي", "Banghazi"], 20.10, 32.05, 0.3),
    ("LY05", "Al Butnan", ["البطنان", "Butnan"], 23.90, 32.00, 0.5),
]
LIBYA_ADM2 = [
    ("LY0101", "Derna City", ["مدينة درنة", "درنة", "Derna", "Darnah"], "LY01", 22.64, 32.765, 0.04),
    ("LY0102", "Al Qubah", ["القبة", "Qubbah"], "LY01", 22.25, 32.76, 0.04),
    ("LY0103", "Umm ar Rizam", ["أم الرزم", "Um Rizam"], "LY01", 22.27, 32.53, 0.04),
    ("LY0201", "Al Bayda", ["البيضاء", "Beida", "Bayda"], "LY02", 21.755, 32.765, 0.04),
    ("LY0202", "Shahhat", ["شحات", "Cyrene", "Shahat"], "LY02", 21.86, 32.83, 0.03),
    ("LY0203", "Susa", ["سوسة", "Sousse", "Apollonia"], "LY02", 21.96, 32.90, 0.03),
    ("LY0301", "Al Marj City", ["مدينة المرج"], "LY03", 20.83, 32.49, 0.04),
    ("LY0401", "Benghazi City", ["مدينة بنغازي"], "LY04", 20.07, 32.12, 0.06),
    ("LY0501", "Tobruk", ["طبرق", "Tubruq"], "LY05", 23.96, 32.08, 0.05),
]
LIBYA_PLACES = [
    ("Wadi Derna", ["وادي درنة", "Wadi Darnah"], 22.62, 32.755),
    ("Al Bilad", ["البلاد", "Al-Bilad district"], 22.641, 32.768),
    ("Al Maghar", ["المغار"], 22.630, 32.760),
    ("Derna Port", ["ميناء درنة", "port of Derna"], 22.650, 32.770),
    ("Al Wahda Hospital", ["مستشفى الوحدة"], 22.636, 32.762),
    ("Abu Mansour Dam", ["سد أبو منصور", "Abu Mansour"], 22.60, 32.72),
    ("Al Bilad Dam", ["سد البلاد"], 22.62, 32.74),
    ("Shiha", ["شيحا"], 22.655, 32.758),
]


def _box(lon: float, lat: float, half: float) -> dict[str, Any]:
    w, s, e, n = lon - half, lat - half, lon + half, lat + half
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def adm1(areas) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "ADM1_PCODE": code,
                    "ADM1_EN": name,
                    **{f"ADM1_ALT{i + 1}": n for i, n in enumerate(others)},
                },
                "geometry": _box(lon, lat, half),
            }
            for code, name, others, lon, lat, half in areas
        ],
    }


def adm2(areas, parents) -> dict[str, Any]:
    names = {code: name for code, name, *_rest in parents}
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "ADM2_PCODE": code,
                    "ADM2_EN": name,
                    **{f"ADM2_ALT{i + 1}": n for i, n in enumerate(others)},
                    "ADM1_PCODE": parent,
                    "ADM1_EN": names[parent],
                },
                "geometry": _box(lon, lat, half),
            }
            for code, name, others, parent, lon, lat, half in areas
        ],
    }


def places(rows) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": name, **{f"alt_name_{i + 1}": n for i, n in enumerate(others)}},
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
            for name, others, lon, lat in rows
        ],
    }


CRISES = {
    "haiti": {
        "bbox": HAITI_BBOX,
        "name": "Haiti earthquake",
        "adm1": HAITI_ADM1,
        "adm2": HAITI_ADM2,
        "places": HAITI_PLACES,
    },
    "libya": {
        "bbox": LIBYA_BBOX,
        "name": "Derna floods",
        "adm1": LIBYA_ADM1,
        "adm2": LIBYA_ADM2,
        "places": LIBYA_PLACES,
    },
}


def load_crisis(key: str, author) -> Any:
    """Create the crisis `key` with its boundaries and its layer of places (needs an app context)."""
    from wiki.crises.services import create_crisis
    from wiki.maps.boundaries import import_boundaries
    from wiki.maps.layers import create_layer

    spec = CRISES[key]
    crisis = create_crisis(
        {"name": spec["name"], "slug": key, "bbox": spec["bbox"], "start_date": "2010-01-12"}, author
    )
    import_boundaries(crisis, 1, adm1(spec["adm1"]), author)
    import_boundaries(crisis, 2, adm2(spec["adm2"], spec["adm1"]), author)
    create_layer(crisis, {"title": "Named places"}, places(spec["places"]), author)
    return crisis


def label_of(place) -> str:
    """A detected place as the labelled set writes it: pcode:HT0112, place:Delmas 33, city:Name."""
    if place is None:
        return ""
    if place.pcode:
        return f"pcode:{place.pcode}"
    if place.kind == "facility":
        return f"place:{place.name}"
    return f"city:{place.name}"
