"""Readers for the summary-statistics formats that users bring, giving vibank's canonical table.

One class per format over :class:`SumstatsFormat`, which holds a column map (role -> the header
names the tool writes) and does the work shared by all: sniffing the delimiter, reading every
field as text, checking required columns, parsing numbers with the row named on failure, and
assembling the canonical columns (``vibank.columns.SUMSTATS_ORDER`` plus ``A1_FREQ``). The
statistics that a format lacks (Z, P, MAF) come from ``vibank.sumstats.qc``.

Roles: SNP CHR POS A1 (effect allele) A2 BETA OR SE Z P LOG10P N N_CASE N_CONTROL A1_FREQ MAF,
and for some formats REF ALT AX OMITTED ERRCODE TEST. Column names were checked against each
tool's documented output (``docs/formats.md``, "Summary-statistics formats").
"""

import gzip
import logging
import re
import warnings
import zlib

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError
from vibank.sumstats import qc

log = logging.getLogger(__name__)

#: text that means "no value" in any supported format
NA_TOKENS = frozenset({"", ".", "NA", "na", "N/A", "#NA", "NaN", "nan", "NAN", "null", "NULL",
                       "-nan"})

NUMERIC_ROLES = ("POS", "BETA", "OR", "SE", "Z", "P", "LOG10P", "N", "N_CASE", "N_CONTROL",
                 "A1_FREQ", "MAF")
ROLES = ("SNP", "CHR", "A1", "A2", *NUMERIC_ROLES, "REF", "ALT", "AX", "OMITTED", "ERRCODE", "TEST")

#: the canonical table the readers return
OUTPUT_COLUMNS = [*col.SUMSTATS_ORDER, col.A1_FREQ]


class SumstatsFormat:
    """A summary-statistics format: its column map and any format-specific preparation.

    Subclasses set ``name``, ``columns`` (role -> candidate header names, first present wins),
    ``signatures`` (sets of header names that identify the format, for autodetection) and may
    override :meth:`prepare`.

    Parameters
    ----------
    column_map : optional {role: header name} replacing the format's own names
    """

    name = "base"
    columns: dict = {}
    signatures: tuple = ()
    suffixes: tuple = ()

    def __init__(self, column_map=None):
        self.column_map = {str(k).upper(): v for k, v in (column_map or {}).items()}
        unknown = sorted(set(self.column_map) - set(ROLES))
        if unknown:
            raise VibankError(f"column_map: unknown field(s) {unknown}; known: {', '.join(ROLES)}")

    @classmethod
    def matches(cls, header):
        """Size of the largest signature contained in ``header`` (0 when none is)."""
        return max((len(s) for s in cls.signatures if s <= set(header)), default=0)

    def resolve(self, header, path):
        """role -> header name of the columns present in this file."""
        fields = {}
        for role, names in self.columns.items():
            found = [name for name in names if name in header]
            if found:
                fields[role] = found[0]
        for role, name in self.column_map.items():
            if name not in header:
                raise VibankError(f"{path}: column {name!r} (given for {role} in column_map) "
                                  f"is not in the header")
            fields[role] = name
        return fields

    def prepare(self, raw, fields, numbers):
        """Format-specific fix-ups before the canonical table is built.

        Returns the text columns by role (may add some, e.g. A2 from plink2's REF/ALT) and a
        boolean mask of rows to leave out silently (rows that are not one variant's additive
        test, such as covariate rows), with per-row drop reasons ('' to keep) for the audit.
        """
        return _texts(raw, fields), np.zeros(len(raw), bool), np.full(len(raw), "", dtype=object)

    def required(self, fields, path):
        """Raise a one-line error naming the first missing required column."""
        def need(role, hint=None):
            if role not in fields:
                names = " or ".join(self.columns.get(role, ()) or (role,))
                raise VibankError(f"{path}: column {names} is missing "
                                  f"({self.name} format: {hint or role})")

        if "SNP" not in fields and not {"CHR", "POS"} <= set(fields):
            need("SNP", "a variant ID, or chromosome and position")
        need("A1", "the effect allele")
        effect = {"Z", "BETA", "OR"} & set(fields)
        if not effect:
            need("BETA", "an effect (BETA, OR or Z)")
        if "Z" not in fields and not ({"SE", "P", "LOG10P"} & set(fields)):
            need("SE", "a standard error or p-value with the effect")


class VibankFormat(SumstatsFormat):
    """vibank's canonical table (``vibank.io.sumstats.write_sumstats``)."""

    name = "vibank"
    columns = {r: (r,) for r in ("SNP", "CHR", "POS", "A1", "A2", "N", "MAF", "BETA", "SE", "Z",
                                 "P", "A1_FREQ")}
    signatures = (frozenset(col.SUMSTATS_ORDER),)


class Plink2Format(SumstatsFormat):
    """plink2 ``--glm``: ``.glm.linear``, ``.glm.logistic(.hybrid)``, ``.glm.firth``.

    A1 is the tested (effect) allele, which may be REF or ALT. The other allele is AX
    (``cols=+ax``), else OMITTED, else the one of REF/ALT that is not A1; a multi-allelic ALT
    list leaves a ``multiallelic`` code. Logistic output has OR (or BETA with ``cols=+beta``),
    ``LOG(OR)_SE`` and ``Z_STAT``; linear output has BETA, SE and ``T_STAT``. Rows with an
    ERRCODE other than ``.`` are dropped; only ADD rows are kept when the file has covariate rows.
    """

    name = "plink2"
    columns = {
        "CHR": ("#CHROM", "CHROM"), "POS": ("POS",), "SNP": ("ID",), "A1": ("A1",), "AX": ("AX",),
        "OMITTED": ("OMITTED",), "REF": ("REF",), "ALT": ("ALT", "ALT1"), "A1_FREQ": ("A1_FREQ",),
        "N": ("OBS_CT",), "BETA": ("BETA",), "OR": ("OR",), "SE": ("SE", "LOG(OR)_SE"),
        "Z": ("T_STAT", "Z_STAT"), "P": ("P",), "LOG10P": ("LOG10_P", "NEG_LOG10_P"),
        "ERRCODE": ("ERRCODE",), "TEST": ("TEST",),
    }
    signatures = (frozenset({"#CHROM", "ID", "A1"}), frozenset({"#CHROM", "ID", "A1", "OBS_CT"}))
    suffixes = (".glm.linear", ".glm.logistic", ".glm.logistic.hybrid", ".glm.firth")

    def prepare(self, raw, fields, numbers):
        text = _texts(raw, fields)
        if "A2" not in text:
            text["A2"] = _plink2_other_allele(text)
        skip = _non_additive(text)
        reasons = np.full(len(raw), "", dtype=object)
        if "ERRCODE" in text:
            code = text["ERRCODE"].fillna(".")
            reasons[(code != ".").to_numpy()] = "errcode"
        return text, skip, reasons


def _plink2_other_allele(text):
    a1 = text["A1"]
    for role in ("AX", "OMITTED"):
        if role in text:
            return text[role]
    if not {"REF", "ALT"} <= set(text):
        return pd.Series(pd.NA, index=a1.index, dtype="string")
    ref, alt = text["REF"], text["ALT"]
    # A1 = REF -> the other allele is ALT (a list "G,T" when multi-allelic: flagged later)
    return pd.Series(np.where(a1 == ref, alt, np.where(a1 == alt, ref, alt)), index=a1.index,
                     dtype="string")


def _non_additive(text):
    """Rows of a TEST column other than ADD, when the file has ADD rows (covariates, DOMDEV...)."""
    if "TEST" not in text:
        return np.zeros(len(next(iter(text.values()))), bool)
    test = text["TEST"].fillna("")
    return (test != "ADD").to_numpy() if (test == "ADD").any() else np.zeros(len(test), bool)


class Plink1Format(SumstatsFormat):
    """plink 1.9 ``--assoc`` (case/control: ``A1 F_A F_U A2 CHISQ P OR``), ``--linear`` and
    ``--logistic`` (``A1 TEST NMISS BETA|OR [SE L95 U95] STAT P``; no A2 column, taken from the
    LD panel at harmonisation). ``.qassoc`` has no allele column and needs a column_map."""

    name = "plink1"
    columns = {
        "CHR": ("CHR",), "SNP": ("SNP",), "POS": ("BP",), "A1": ("A1",), "A2": ("A2",),
        "N": ("NMISS", "OBS_CT"), "BETA": ("BETA",), "OR": ("OR",), "SE": ("SE",),
        "Z": ("STAT",), "P": ("P",), "TEST": ("TEST",),
    }
    signatures = (frozenset({"CHR", "SNP", "BP", "A1", "P"}),)
    suffixes = (".assoc", ".assoc.linear", ".assoc.logistic")

    def prepare(self, raw, fields, numbers):
        text = _texts(raw, fields)
        return text, _non_additive(text), np.full(len(raw), "", dtype=object)


class FastGwaFormat(SumstatsFormat):
    """GCTA fastGWA ``.fastGWA``: ``CHR SNP POS A1 A2 N AF1 BETA SE P``; A1 is the effect allele."""

    name = "fastgwa"
    columns = {"CHR": ("CHR",), "SNP": ("SNP",), "POS": ("POS",), "A1": ("A1",), "A2": ("A2",),
               "N": ("N",), "A1_FREQ": ("AF1",), "BETA": ("BETA",), "SE": ("SE",), "P": ("P",)}
    signatures = (frozenset({"SNP", "A1", "A2", "AF1", "BETA", "SE", "P"}),)
    suffixes = (".fastGWA", ".fastgwa")


class GwasSsfFormat(SumstatsFormat):
    """GWAS Catalog GWAS-SSF (v0.1/v1.0): ``chromosome base_pair_location effect_allele
    other_allele beta|odds_ratio|hazard_ratio standard_error effect_allele_frequency p_value``
    (or ``neg_log_10_p_value``), optional ``rsid variant_id n``; missing values ``NA``/``#NA``."""

    name = "gwas-ssf"
    columns = {
        "CHR": ("chromosome",), "POS": ("base_pair_location",), "A1": ("effect_allele",),
        "A2": ("other_allele",), "BETA": ("beta",), "OR": ("odds_ratio", "hazard_ratio"),
        "SE": ("standard_error",), "A1_FREQ": ("effect_allele_frequency",), "P": ("p_value",),
        "LOG10P": ("neg_log_10_p_value",), "SNP": ("rsid", "variant_id"), "N": ("n",),
    }
    signatures = (frozenset({"effect_allele", "other_allele", "base_pair_location"}),
                  frozenset({"effect_allele", "other_allele", "p_value"}))


class SaigeFormat(SumstatsFormat):
    """SAIGE step 2: ``CHR POS MarkerID|SNPID Allele1 Allele2 AC_Allele2 AF_Allele2 ... BETA SE
    Tstat var p.value ... N`` (or ``N_case N_ctrl``). BETA refers to Allele2, so A1 = Allele2.
    ``Tstat`` is the score statistic, not BETA / SE, so Z comes from BETA and SE."""

    name = "saige"
    columns = {
        "CHR": ("CHR",), "POS": ("POS",), "SNP": ("MarkerID", "SNPID", "rsid"), "A1": ("Allele2",),
        "A2": ("Allele1",), "A1_FREQ": ("AF_Allele2",), "BETA": ("BETA",), "SE": ("SE",),
        "P": ("p.value",), "N": ("N",), "N_CASE": ("N_case",), "N_CONTROL": ("N_ctrl",),
    }
    signatures = (frozenset({"Allele1", "Allele2", "AF_Allele2", "p.value"}),)


class RegenieFormat(SumstatsFormat):
    """REGENIE step 2 ``.regenie``: ``CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ [INFO] N TEST BETA SE
    CHISQ LOG10P [EXTRA]``, space-separated; ALLELE1 is the effect allele. P = 10^-LOG10P (Z from
    BETA / SE, or from LOG10P exactly when SE is missing)."""

    name = "regenie"
    columns = {
        "CHR": ("CHROM",), "POS": ("GENPOS",), "SNP": ("ID",), "A2": ("ALLELE0",),
        "A1": ("ALLELE1",), "A1_FREQ": ("A1FREQ",), "N": ("N",), "BETA": ("BETA",), "SE": ("SE",),
        "LOG10P": ("LOG10P",), "TEST": ("TEST",),
    }
    signatures = (frozenset({"GENPOS", "ALLELE0", "ALLELE1", "LOG10P"}),)
    suffixes = (".regenie",)

    def prepare(self, raw, fields, numbers):
        text = _texts(raw, fields)
        return text, _non_additive(text), np.full(len(raw), "", dtype=object)


class LdscFormat(SumstatsFormat):
    """LDSC ``munge_sumstats.py`` output ``.sumstats``: ``SNP A1 A2 Z N``, Z signed for A1."""

    name = "ldsc"
    columns = {"SNP": ("SNP",), "A1": ("A1",), "A2": ("A2",), "Z": ("Z",), "N": ("N",)}
    signatures = (frozenset({"SNP", "A1", "A2", "Z", "N"}),)


class CustomFormat(SumstatsFormat):
    """Any table described by a column_map {role: header name} (config ``column_map``)."""

    name = "custom"
    columns = {}


FORMATS = {cls.name: cls for cls in (VibankFormat, Plink2Format, Plink1Format, FastGwaFormat,
                                     GwasSsfFormat, SaigeFormat, RegenieFormat, LdscFormat,
                                     CustomFormat)}


def detect_format(header, path=""):
    """The format whose signature best matches the header (largest one wins), by name.

    A plink2/fastGWA/REGENIE file name suffix decides when the header alone is ambiguous.
    """
    scores = {name: cls.matches(header) for name, cls in FORMATS.items()}
    best = max(scores.values())
    if best == 0:
        raise VibankError(f"{path}: cannot tell the summary-statistics format from the header "
                          f"({' '.join(header[:12])}){_closest(header)}; give the format or a "
                          f"column_map")
    tied = [name for name, score in scores.items() if score == best]
    by_suffix = [n for n in tied if any(str(path).endswith(s) or str(path).endswith(s + ".gz")
                                        for s in FORMATS[n].suffixes)]
    return (by_suffix or tied)[0]


def _closest(header):
    """'; closest: <format> (missing <columns>)' for the signature that lacks the fewest."""
    lacking = [(len(sig - set(header)), -len(sig), name, sorted(sig - set(header)))
               for name, cls in FORMATS.items() for sig in cls.signatures]
    n_missing, _, name, missing = min(lacking)
    if n_missing > 2:
        return ""
    return f"; closest: {name} (missing {', '.join(missing)})"


def read_sumstats_any(path, *, format="auto", n=None, column_map=None):
    """Read summary statistics in any supported format as vibank's canonical table.

    Parameters
    ----------
    path : the file (plain or gzip, tab- or whitespace-separated, one header line; leading
        ``##`` lines are skipped)
    format : one of ``FORMATS`` (vibank, plink2, plink1, fastgwa, gwas-ssf, saige, regenie, ldsc,
        custom) or ``"auto"`` to detect it from the header
    n : GWAS sample size for every variant whose row gives none (required when the file has no
        sample-size column)
    column_map : {role: header name}, overriding the format's names; with ``format="custom"``
        the only column names used

    Returns
    -------
    table : DataFrame with ``OUTPUT_COLUMNS`` (canonical columns plus A1_FREQ, NaN when absent);
        A1 is the effect allele and Z, BETA refer to it; CHR normalised (``chr1`` -> ``1``,
        X -> 23); POS nullable (LDSC files have none)
    audit : DataFrame with ``qc.AUDIT_COLUMNS``: one row per variant dropped while reading
        (``errcode``, ``missing_value``, ``missing_statistic``) or kept with its p-value
        clipped (``action = clipped``)

    Raises
    ------
    VibankError : one line naming the file and the row or column: missing file, empty file,
        header only, a comma- or semicolon-separated file, a missing required column, a
        non-numeric value in a numeric column, no sample size
    """
    path = str(path)
    header, skip, sep = _sniff(path)
    name = format.lower() if format else "auto"
    if name == "auto":
        try:
            name = detect_format(header, path)
        except VibankError:
            if not column_map:
                raise
            name = "custom"
    if name not in FORMATS:
        raise VibankError(f"{path}: unknown summary-statistics format {format!r}; "
                          f"one of auto, {', '.join(FORMATS)}")
    fmt = FORMATS[name](column_map)
    raw = _read_text(path, skip, sep)
    fields = fmt.resolve(list(raw.columns), path)
    fmt.required(fields, path)
    numbers = _parse_numbers(raw, fields, path, first_line=skip + 2)
    text, leave_out, reasons = fmt.prepare(raw, fields, numbers)
    if leave_out.any():
        log.info("%s: %d rows of tests other than ADD left out", path, int(leave_out.sum()))
    table, audit = _assemble(text, numbers, reasons, n=n, path=path)
    # both keep the file's row positions as index until here
    audit = audit[~leave_out[audit.index.to_numpy()]].reset_index(drop=True)
    table = table[~leave_out[table.index.to_numpy()]]
    log.info("%s (%s): %d variants read, %d dropped, %d p-values clipped", path, name, len(table),
             int((audit["action"] == "dropped").sum()), int((audit["action"] == "clipped").sum()))
    return table.reset_index(drop=True), audit


def _sniff(path):
    """Header fields, number of lines before the header, and the separator."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        skip = 0
        with opener(path, "rt", errors="strict") as handle:
            for line in handle:
                if line.startswith("##"):
                    skip += 1
                    continue
                break
            else:
                line = ""
    except FileNotFoundError:
        raise VibankError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise VibankError(f"{path}: is a directory, not a summary-statistics file") from None
    except (UnicodeDecodeError, OSError, EOFError, zlib.error) as err:
        raise VibankError(_unreadable(path, err)) from None
    line = line.rstrip("\r\n")
    if not line.strip():
        raise VibankError(f"{path}: file is empty")
    sep = "\t" if "\t" in line else r"\s+"
    header = line.split("\t") if sep == "\t" else line.split()
    if len(header) == 1:
        for other, what in ((",", "comma"), (";", "semicolon"), ("|", "pipe")):
            if other in line:
                raise VibankError(f"{path}: line {skip + 1}: the header is one column; the file "
                                  f"seems {what}-separated, expected tab or space separated")
        raise VibankError(f"{path}: line {skip + 1}: the header has a single column "
                          f"({line[:40]!r})")
    return [h.strip() for h in header], skip, sep


def _read_text(path, skip, sep):
    compression = "gzip" if _is_gzip(path) else None
    try:
        with warnings.catch_warnings():
            # index_col=False: a row with more fields than the header warns (else pandas would
            # silently take the first column as the index and shift every column)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(path, sep=sep, skiprows=skip, dtype=str, keep_default_na=False,
                              na_filter=False, compression=compression, index_col=False)
    except pd.errors.ParserWarning:
        line = _first_bad_line(path, skip, sep, compression)
        raise VibankError(f"{path}: line {line[0] if line else '?'} has more fields than the "
                          f"header") from None
    except pd.errors.ParserError as err:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if found:
            want, line, saw = (int(g) for g in found.groups())
            raise VibankError(f"{path}: line {line + skip} has {saw} fields, the header {want}") \
                from None
        last = str(err).strip().splitlines()[-1]
        raise VibankError(f"{path}: malformed table ({last})") from None
    except (pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError, zlib.error) as err:
        raise VibankError(_unreadable(path, err)) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if raw.empty:
        raise VibankError(f"{path}: header only, no variant rows")
    # pandas reads the fields a row lacks as "": a row cut short (a truncated download) ends in
    # an empty field, and only then are the lines counted (an empty last value is allowed)
    if (raw.iloc[:, -1] == "").any():
        line = _first_bad_line(path, skip, sep, compression, short=True)
        if line is not None:
            number, fields = line
            raise VibankError(f"{path}: line {number} has {fields} fields, the header "
                              f"{raw.shape[1]}")
    return raw


def _unreadable(path, err):
    """One line for a file that cannot be decoded: truncated or corrupt gzip, binary data."""
    if isinstance(err, EOFError):
        return f"{path}: gzip file is truncated (it ends before its end-of-stream marker)"
    if isinstance(err, (zlib.error, gzip.BadGzipFile)):
        return f"{path}: not a valid gzip file ({' '.join(str(err).split())})"
    return f"{path}: not a text table ({type(err).__name__})"


def _first_bad_line(path, skip, sep, compression, short=False):
    """(line number, fields) of the first row with more fields than the header (fewer with
    ``short``), or None; only on the error paths."""
    opener = gzip.open if compression else open
    with opener(path, "rt") as handle:
        width = None
        for number, line in enumerate(handle, start=1):
            if number <= skip:
                continue
            line = line.rstrip("\r\n")
            fields = len(line.split("\t")) if sep == "\t" else len(line.split())
            if width is None:
                width = fields
            elif (fields < width) if short else (fields > width):
                return number, fields
    return None


def _is_gzip(path):
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _texts(raw, fields):
    """Text columns by role (stripped, NA tokens as <NA>), for the non-numeric roles."""
    out = {}
    for role, name in fields.items():
        if role in NUMERIC_ROLES:
            continue
        values = raw[name].str.strip()
        out[role] = values.mask(values.isin(NA_TOKENS)).astype("string")
    return out


def _parse_numbers(raw, fields, path, first_line):
    """Numeric roles as float arrays; a value that is neither a number nor an NA token raises."""
    out = {}
    for role in NUMERIC_ROLES:
        if role not in fields:
            continue
        name = fields[role]
        values = raw[name].str.strip()
        missing = values.isin(NA_TOKENS)
        number = pd.to_numeric(values.mask(missing), errors="coerce")
        bad = number.isna() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise VibankError(f"{path}: line {row + first_line}, column {name}: "
                              f"{values.iloc[row]!r} is not a number")
        out[role] = number.to_numpy(float)
    return out


def _assemble(text, numbers, reasons, *, n, path):
    """The canonical table and the reader's audit from the parsed columns."""
    m = len(reasons)
    nan = np.full(m, np.nan)
    get = numbers.get
    chrom = qc.normalise_chrom(text["CHR"]) if "CHR" in text else \
        pd.Series(pd.NA, index=range(m), dtype="string")
    pos = pd.array(np.round(get("POS", nan)), dtype="Float64").astype("Int64")
    a1 = text["A1"].str.upper()
    a2 = text["A2"].str.upper() if "A2" in text else \
        pd.Series(pd.NA, index=a1.index, dtype="string")
    snp = text.get("SNP")
    # no ID column, or missing IDs: CHR:POS stands in (matching uses positions then)
    fallback = chrom.astype(str) + ":" + pd.Series(pos, dtype="string").astype(str)
    snp = fallback if snp is None else snp.fillna(fallback)

    beta = get("BETA", nan).copy()
    if "OR" in numbers:
        odds = numbers["OR"]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_or = np.where(odds > 0, np.log(np.where(odds > 0, odds, 1.0)), np.nan)
        beta = np.where(np.isnan(beta), log_or, beta)
    se = get("SE", nan)
    # Z: the file's statistic, else BETA / SE (or log OR / SE), else P with the effect's sign
    z = get("Z", nan).copy()
    z = np.where(np.isnan(z), qc.z_from_beta_se(beta, se), z)
    p, log10p = get("P", nan), get("LOG10P", None)
    need = np.isnan(z)
    clipped = np.zeros(m, bool)
    if need.any() and ("P" in numbers or log10p is not None):
        sign = np.where(np.isfinite(beta), beta, nan)
        from_p, clip = qc.z_from_p(p, sign, log10p=log10p)
        z = np.where(need, from_p, z)
        clipped = need & clip
    if log10p is not None:
        with np.errstate(over="ignore"):
            p = np.where(np.isnan(p), 10.0 ** -log10p, p)
    p = np.where(np.isnan(p) & np.isfinite(z), qc.p_from_z(z), p)

    n_values = _sample_size(numbers, n, path, m)
    freq = get("A1_FREQ", nan)
    maf = np.where(np.isfinite(freq), qc.maf_from_freq(freq), get("MAF", nan))
    table = pd.DataFrame({
        col.CHR: chrom.to_numpy(), col.SNP: snp.to_numpy(), col.POS: pos, col.A1: a1.to_numpy(),
        col.A2: a2.to_numpy(), col.N: n_values, col.MAF: maf, col.BETA: beta, col.SE: se,
        col.Z: z, col.P: p, col.A1_FREQ: freq,
    })
    for name in (col.CHR, col.SNP, col.A1, col.A2):
        table[name] = table[name].astype("string")

    reasons = reasons.copy()
    detail = np.full(m, "", dtype=object)
    if "ERRCODE" in text:
        errcode = reasons == "errcode"
        detail[errcode] = "plink2 ERRCODE " + text["ERRCODE"].fillna("").to_numpy(str)[errcode]
    ids = text.get("SNP", pd.Series(pd.NA, index=a1.index, dtype="string"))
    no_id = (ids.isna() & (chrom.isna() | pd.Series(pos).isna())).to_numpy()
    for mask, why, what in ((no_id, "missing_value", "no variant ID and no CHR:POS"),
                            (a1.isna().to_numpy(), "missing_value", "no effect allele"),
                            (np.isnan(n_values), "missing_value", "no sample size"),
                            (se <= 0, "se_nonpositive", "SE <= 0"),
                            (np.isnan(z), "missing_statistic",
                             "no Z, BETA/SE or P with a signed effect")):
        new = (reasons == "") & mask
        reasons[new], detail[new] = why, what
    dropped = reasons != ""
    kept_clipped = clipped & ~dropped
    audit = pd.concat([
        qc.audit_rows(table[dropped], "").assign(reason=reasons[dropped], detail=detail[dropped])
        .set_axis(np.flatnonzero(dropped)),
        qc.audit_rows(table[kept_clipped], "p_clipped", f"p <= {qc.P_FLOOR:.3g} clipped to it: "
                      f"|Z| = {qc.Z_CEILING:.2f}", action="clipped")
        .set_axis(np.flatnonzero(kept_clipped)),
    ]).sort_index().astype(qc.AUDIT_COLUMNS)
    table = table[~dropped].copy()
    table[col.N] = np.round(table[col.N].to_numpy(float)).astype(np.int64)
    return table, audit


def _sample_size(numbers, n, path, m):
    """Per-variant N (N, or N_CASE + N_CONTROL); the global ``n`` fills rows without one."""
    values = numbers.get("N")
    if values is None and {"N_CASE", "N_CONTROL"} <= set(numbers):
        values = numbers["N_CASE"] + numbers["N_CONTROL"]
    if values is None:
        if n is None:
            raise VibankError(f"{path}: no sample-size column (N, OBS_CT, NMISS, n); give the "
                              f"GWAS sample size (n)")
        values = np.full(m, np.nan)
    if n is not None:
        if not n > 0:
            raise VibankError(f"{path}: the given sample size n = {n} is not positive")
        values = np.where(np.isnan(values), float(n), values)
    return values


def format_names():
    """Names accepted by :func:`read_sumstats_any` (besides ``auto``)."""
    return list(FORMATS)
