"""BioBERT fine-tuning data in NVIDIA's layout: copied from a local copy, or downloaded and verified.

  python data/biobert_data.py --output_dir=data/biobert [--source_dir=/path/to/shared/biobert]

Writes, under --output_dir, the folders the biobert/scripts launchers read:
  BC5CDR/chem, BC5CDR/disease, NCBI-disease   train.tsv, devel.tsv (IOB, Crichton et al. 2017's preprocessing)
  chemprot-data_treeLSTM                      train.tsv, dev.tsv (BC6ENT* markers)
  GAD                                         train.tsv and dev.tsv: GAD's one training fold with its last
                                              DEV_FRACTION of rows held back as dev (a contiguous slice, so a
                                              sentence's several pairs stay on one side)
With --source_dir (a folder laid out as the shared data's biobert/: ner/<corpus>-IOB/, re/chemprot, re/gad) the
files are copied from it; otherwise they are downloaded from their public origins through data/downloader.py
(resumable, size and sha256 checked). Every file's sha256 is checked either way.
"""

import argparse
import collections
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import downloader  # noqa: E402

CAMBRIDGE = "https://raw.githubusercontent.com/cambridgeltl/MTL-Bioinformatics-2016/" \
            "df0df02fae6dbb87d88ffcf323b9096528f06f84/data/"
ELECTRA = "https://raw.githubusercontent.com/SciCrunch/bio_electra/" \
          "7a53526773e047c02f03400f61a906a636b9054d/electra/data/finetuning_data/"
DEV_FRACTION = 0.1

File = collections.namedtuple("File", "url source dest sha256")
FILES = [
    File(CAMBRIDGE + "BC5CDR-chem-IOB/train.tsv", "ner/BC5CDR-chem-IOB/train.tsv", "BC5CDR/chem/train.tsv",
         "165c4cd2efadd0caf1bb8f3c6bcd3acca199446bb3d55eb06d9137114c9a0b2d"),
    File(CAMBRIDGE + "BC5CDR-chem-IOB/devel.tsv", "ner/BC5CDR-chem-IOB/devel.tsv", "BC5CDR/chem/devel.tsv",
         "3f1df5cfcff95735663ffc37121fd3687e82b1e9a019bec0480491502652721b"),
    File(CAMBRIDGE + "BC5CDR-disease-IOB/train.tsv", "ner/BC5CDR-disease-IOB/train.tsv",
         "BC5CDR/disease/train.tsv", "d630dafe7dd67e21350cc3278dbdcfadcccbb2b63d0fda83b2427853988e5ad9"),
    File(CAMBRIDGE + "BC5CDR-disease-IOB/devel.tsv", "ner/BC5CDR-disease-IOB/devel.tsv",
         "BC5CDR/disease/devel.tsv", "8c3af95475029c2100c2b7c0108b2715bc700ac198c7a21d587f11f1d06b17bd"),
    File(CAMBRIDGE + "NCBI-disease-IOB/train.tsv", "ner/NCBI-disease-IOB/train.tsv", "NCBI-disease/train.tsv",
         "58379baf4614b8d757d93dd7a21b202849ca99f9b9d71b49185523ff5443300c"),
    File(CAMBRIDGE + "NCBI-disease-IOB/devel.tsv", "ner/NCBI-disease-IOB/devel.tsv", "NCBI-disease/devel.tsv",
         "b4e1e7efcc2a35047bf2f3d281648357470e674f555d4a26a0049ac37d59cc61"),
    File(ELECTRA + "chemprot/train.tsv", "re/chemprot/train.tsv", "chemprot-data_treeLSTM/train.tsv",
         "f69f85e7b449defe6bec4eea7005114293c2fc4919b9fb474411b9120239439b"),
    File(ELECTRA + "chemprot/dev.tsv", "re/chemprot/dev.tsv", "chemprot-data_treeLSTM/dev.tsv",
         "71be2ade9dce952da88f09dc61fbc309f96d9698fbd64e6ef4cb597f3d87c3be"),
    File(ELECTRA + "gad/train.tsv", "re/gad/train.tsv", "GAD/full_train.tsv",
         "21e3765852a13cf03e6e759e201c5ad2d18b10d3ab05a8ac6bd7510f18f68fec"),
]


def fetch(entry, output_dir, source_dir):
  """Copies (from source_dir) or downloads one file to its place under output_dir, checking its sha256."""
  dest = os.path.join(output_dir, entry.dest)
  os.makedirs(os.path.dirname(dest), exist_ok=True)
  if source_dir:
    src = os.path.join(source_dir, entry.source)
    if not os.path.isfile(src):
      raise ValueError("--source_dir=%s: %s not found" % (source_dir, entry.source))
    downloader.verify_file(src, sha256=entry.sha256)
    shutil.copyfile(src, dest + ".tmp")
    os.replace(dest + ".tmp", dest)
  else:
    downloader.download(entry.url, dest, sha256=entry.sha256)
  return dest


def split_gad(full_train, fraction=DEV_FRACTION):
  """Writes train.tsv and dev.tsv beside `full_train`: its last `fraction` of rows become dev.tsv."""
  with open(full_train, encoding="utf-8") as f:
    rows = [line for line in f if line.strip()]
  cut = len(rows) - int(round(len(rows) * fraction))
  folder = os.path.dirname(full_train)
  for name, part in (("train.tsv", rows[:cut]), ("dev.tsv", rows[cut:])):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
      f.writelines(part)
  return cut, len(rows) - cut


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--output_dir", required=True)
  parser.add_argument("--source_dir", default=None, help="a local copy (the shared data's biobert/ folder)")
  args = parser.parse_args(argv)
  try:
    for entry in FILES:
      print("%s -> %s" % (entry.source if args.source_dir else entry.url, fetch(entry, args.output_dir,
                                                                             args.source_dir)))
    train, dev = split_gad(os.path.join(args.output_dir, "GAD", "full_train.tsv"))
  except (ValueError, OSError, downloader.DownloadError) as e:
    print("biobert_data.py: error: %s" % e, file=sys.stderr)
    return 2
  print("GAD: %d training rows, the last %d held back as dev.tsv" % (train, dev))
  return 0


if __name__ == "__main__":
  sys.exit(main())
