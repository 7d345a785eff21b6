"""How messages.csv.gz was made (run once, by hand; the demo only reads the result, so `make run`
needs nothing outside the repository):

    .venv/bin/python wiki/demo/data/extract_messages.py ../shared/data/crisislex-t26

From CrisisLexT26 (Olteanu, Vieweg and Castillo, CSCW 2015; MIT licence, LICENSE-CrisisLexT26
beside this file) it takes every labelled message of two events in the Philippines, Typhoon
Yolanda (Haiyan, November 2013) and the Bohol earthquake (October 2013), and keeps only what the
demo needs: the event, the time the message was posted (from the tweet id, a Twitter snowflake,
to the minute), the cleaned text and the crowd's labels. Tweet ids are dropped, and so is anything
that could point at a person: "RT @name:" prefixes, every @handle (replaced by "@user") and every
link.
"""

from __future__ import annotations

import csv
import gzip
import html
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

EVENTS = {"2013_Typhoon_Yolanda": "yolanda", "2013_Bohol_earthquake": "bohol"}
TWITTER_EPOCH_MS = 1288834974657
OUT = Path(__file__).resolve().parent / "messages.csv.gz"


def clean(text: str) -> str:
    text = html.unescape(text)
    text = re.sub(r"^(RT\s+)?@\w+:?\s*", "", text.strip())  # a retweet's "RT @name:"
    text = re.sub(r"\bRT\s+@\w+:?\s*", "", text)
    text = re.sub(r"https?\S*", "", text)  # links, also those cut short ("http…")
    text = re.sub(r"\bht?t?…", "", text)
    text = re.sub(r"@\w+", "@user", text)
    text = re.sub(r"\s+", " ", text).replace(" …", "…").strip(" -:|")
    return text


def posted(tweet_id: str) -> str:
    millis = (int(tweet_id) >> 22) + TWITTER_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def main(folder: Path) -> None:
    rows = []
    for event, key in EVENTS.items():
        with open(folder / event / "tweets_labeled.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, skipinitialspace=True):
                text = clean(row["Tweet Text"])
                if len(text) < 12:
                    continue
                rows.append(
                    [
                        key,
                        posted(row["Tweet ID"]),
                        text,
                        row["Information Source"],
                        row["Information Type"],
                        row["Informativeness"],
                    ]
                )
    rows.sort(key=lambda r: (r[0], r[1]))
    with gzip.open(OUT, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["event", "posted", "text", "source", "type", "informativeness"])
        writer.writerows(rows)
    print(f"{len(rows)} messages -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
