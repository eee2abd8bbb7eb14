"""Chromosomes 1-5 (1-4 in the recorded run) of the genome-scale panel assembled from simulated ones (when msprime has not
simulated them: ~20 min each on a loaded 2-core machine).

Each tile is two cached chromosomes of the same 500 people joined end to end (PLINK .bed rows are
per variant, so the genotypes are the two files' variant blocks one after the other); positions
and centimorgans of the second shifted past the first, IDs renamed to the new chromosome. LD
within each half is the simulated LD; between the halves there is none, as across a
recombination hotspot. The variant count and density are those of two real simulated
chromosomes of about the tile's length. Used by ``bench/genome_scale.py`` only through the cache.

    .venv/bin/python bench/genome_scale_tiles.py --cache /tmp/vibank_genome_scale
"""

import argparse
from pathlib import Path

import pandas as pd

#: the tile of each missing chromosome: two simulated chromosomes of about its GRCh37 length (Mb)
TILES = {1: (12, 13), 2: (9, 14), 3: (11, 20), 4: (15, 16), 5: (15, 18)}


def tile(geno, chrom, parts, lengths):
    bims, beds = [], [b"\x6c\x1b\x01"]
    offset = 0
    for part in parts:
        bim = pd.read_csv(geno / f"chr{part}.bim", sep="\t", header=None,
                          names=["CHR", "SNP", "CM", "POS", "A1", "A2"])
        bim["POS"] += offset
        bim["CM"] = bim["POS"] * 1e-6  # the panel's uniform 1 cM per Mb
        bim["CHR"] = chrom
        bim["SNP"] = [f"{chrom}:{p}:{a2}:{a1}" for p, a1, a2 in zip(bim["POS"], bim["A1"], bim["A2"])]
        bims.append(bim)
        raw = (geno / f"chr{part}.bed").read_bytes()
        assert raw[:3] == beds[0], f"chr{part}.bed is not a variant-major PLINK 1 .bed"
        beds.append(raw[3:])
        offset += lengths[part]
    fams = [(geno / f"chr{p}.fam").read_text() for p in parts]
    ids = {tuple(tuple(line.split()[:2]) for line in fam.splitlines()) for fam in fams}
    assert len(ids) == 1, "the tiles' samples differ"  # (their simulated sex columns do)
    out = geno / f"chr{chrom}"
    pd.concat(bims).to_csv(f"{out}.bim.tmp", sep="\t", header=False, index=False)
    Path(f"{out}.fam.tmp").write_text(fams[0])
    Path(f"{out}.bed.tmp").write_bytes(b"".join(beds))
    for ext in ("bim", "fam", "bed"):  # .bed last: its presence marks the chromosome done
        Path(f"{out}.{ext}.tmp").rename(f"{out}.{ext}")
    (geno / f"chr{chrom}.tiled").write_text(f"chr{parts[0]} + chr{parts[1]}\n")


def main():
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from genome_scale import CHROM_LENGTHS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/vibank_genome_scale"))
    args = parser.parse_args()
    geno = args.cache / "geno"
    lengths = dict(enumerate(CHROM_LENGTHS, start=1))
    for chrom, parts in TILES.items():
        if (geno / f"chr{chrom}.bed").exists():
            continue
        tile(geno, chrom, parts, lengths)
        print(f"chr{chrom}: tiled from chr{parts[0]} + chr{parts[1]}")


if __name__ == "__main__":
    main()
