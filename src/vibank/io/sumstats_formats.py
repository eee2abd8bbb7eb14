"""Readers for the summary-statistics formats that users bring, giving their columns by role.

One class per format over :class:`SumstatsFormat`, which holds a column map (role -> the header
names the tool writes) and does the work shared by all: sniffing the delimiter, reading every
field as text, checking required columns, and parsing numbers with the row named on failure.
No statistics here: ``vibank.sumstats.derive`` derives what a format lacks (Z, P, MAF, N),
drops unusable rows into the audit and builds the canonical table
(``vibank.sumstats.read_sumstats_any`` reads and derives).

Roles: SNP CHR POS A1 (effect allele) A2 BETA OR SE Z P LOG10P N N_CASE N_CONTROL A1_FREQ MAF,
and for some formats REF ALT AX OMITTED ERRCODE TEST. Column names were checked against each
tool's documented output (``docs/formats.md``, "Summary-statistics formats").
"""

import gzip
import logging
import re
import warnings
import zlib
from typing import NamedTuple

import numpy as np
import pandas as pd

from vibank import columns as col
from vibank.errors import VibankError

log = logging.getLogger(__name__)

#: text that means "no value" in any supported format
NA_TOKENS = frozenset({"", ".", "NA", "na", "N/A", "#NA", "NaN", "nan", "NAN", "null", "NULL",
                       "-nan"})

NUMERIC_ROLES = ("POS", "BETA", "OR", "SE", "Z", "P", "LOG10P", "N", "N_CASE", "N_CONTROL",
                 "A1_FREQ", "MAF")
ROLES = ("SNP", "CHR", "A1", "A2", *NUMERIC_ROLES, "REF", "ALT", "AX", "OMITTED", "ERRCODE", "TEST")


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
        """Format-specific fix-ups of the columns handed over.

        Returns the text columns by role (may add some, e.g. A2 from plink2's REF/ALT) and a
        boolean mask of rows to leave out silently (rows that are not one variant's additive
        test, such as covariate rows).
        """
        return _texts(raw, fields), np.zeros(len(raw), bool)

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
    ``LOG(OR)_SE`` and ``Z_STAT``; linear output has BETA, SE and ``T_STAT``. ERRCODE is handed
    over (``vibank.sumstats.derive`` drops rows with a code other than ``.``); only ADD rows are
    kept when the file has covariate rows.
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
        text = _texts(raw, fields, errcode=True)
        if "A2" not in text:
            text["A2"] = _plink2_other_allele(text)
        return text, _non_additive(text)


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
        return text, _non_additive(text)


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
        return text, _non_additive(text)


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


class RawSumstats(NamedTuple):
    """A summary-statistics file's columns by role, as read (see :func:`read_sumstats_columns`)."""

    #: text roles (SNP CHR A1 A2 ERRCODE ..., stripped, <NA> for an NA token) as "string" and
    #: ``NUMERIC_ROLES`` as float64 (NaN for an NA token); one row per variant test, index 0..m-1
    columns: pd.DataFrame
    #: the format's name (detected when ``format="auto"``)
    format: str


def read_sumstats_columns(path, *, format="auto", column_map=None):
    """Read a summary-statistics file in any supported format into its columns by role.

    Parameters
    ----------
    path : the file (plain or gzip, tab- or whitespace-separated, one header line; leading
        ``##`` lines are skipped)
    format : one of ``FORMATS`` (vibank, plink2, plink1, fastgwa, gwas-ssf, saige, regenie, ldsc,
        custom) or ``"auto"`` to detect it from the header
    column_map : {role: header name}, overriding the format's names; with ``format="custom"``
        the only column names used

    Returns
    -------
    RawSumstats : the columns by role (plink2's A2 taken from AX/OMITTED/REF/ALT; rows of tests
        other than ADD left out) and the format's name; ``vibank.sumstats.derive_values`` turns
        them into the canonical table

    Raises
    ------
    VibankError : one line naming the file and the row or column: missing file, empty file,
        header only, a comma- or semicolon-separated file, a missing required column, a
        non-numeric value in a numeric column
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
    text, leave_out = fmt.prepare(raw, fields, numbers)
    if leave_out.any():
        log.info("%s: %d rows of tests other than ADD left out", path, int(leave_out.sum()))
    columns = pd.DataFrame({**text, **numbers})[~leave_out].reset_index(drop=True)
    return RawSumstats(columns, name)


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


def _texts(raw, fields, errcode=False):
    """Text columns by role (stripped, NA tokens as <NA>), for the non-numeric roles; ERRCODE
    only with ``errcode`` (plink2, the one format whose error codes drop rows)."""
    out = {}
    for role, name in fields.items():
        if role in NUMERIC_ROLES or (role == "ERRCODE" and not errcode):
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
        try:  # every value a number (the usual file): parsed as it is, whitespace and all
            out[role] = pd.to_numeric(raw[name], errors="raise").to_numpy(float)
            continue
        except (ValueError, TypeError):
            pass  # NA tokens or a bad value: the careful path below
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


def format_names():
    """Names accepted by :func:`read_sumstats_columns` (besides ``auto``)."""
    return list(FORMATS)
