"""Which pairs each LD estimator keeps: window_ends, block_ends, read_blocks (prs_vi.md §11)."""

import numpy as np
import pytest

from vibank.errors import VibankError
from vibank.ld.windows import block_ends, read_blocks, window_ends


def _brute_window_ends(pos, cm, window_cm=None, window_kb=None, window_variants=None):
    """ends[j] = 1 + the last k >= j whose pair (j, k) passes every given width."""
    m = len(pos)
    ends = np.empty(m, dtype=np.int64)
    for j in range(m):
        last = j
        for k in range(j + 1, m):
            ok = True
            if window_cm is not None:
                ok &= cm[k] - cm[j] <= window_cm + 1e-9
            if window_kb is not None:
                ok &= pos[k] - pos[j] <= 1000 * window_kb
            if window_variants is not None:
                ok &= k - j <= window_variants
            if ok:
                last = k
        ends[j] = last + 1
    return ends


def _brute_block_ends(pos, starts, stops):
    block = np.full(len(pos), -1)
    for b, (a, e) in enumerate(zip(starts, stops)):
        block[(pos >= a) & (pos < e)] = b
    ends = np.arange(1, len(pos) + 1)
    for j in range(len(pos)):
        if block[j] >= 0:
            ends[j] = np.flatnonzero(block == block[j]).max() + 1
    return ends


@pytest.fixture(scope="module")
def positions():
    rng = np.random.default_rng(7)
    pos = np.cumsum(rng.integers(0, 4000, 400)).astype(np.int64) + 10_000  # some duplicates
    cm = np.round(pos * 1.3e-6 + np.cumsum(rng.random(400) * 1e-3), 6)
    return pos, cm


# ---------------------------------------------------------------- window_ends


def test_window_ends__pair_exactly_window_cm_apart_is_kept():
    cm = np.array([0.0, 1.0, 1.5, 2.0, 2.0000001])
    ends = window_ends(np.arange(5) * 10, cm, window_cm=1.0)
    # 0-1 exactly 1 cM apart: kept; 1-3 exactly 1 cM: kept; 1-4 just beyond: not kept
    np.testing.assert_array_equal(ends, [2, 4, 5, 5, 5])


def test_window_ends__decimal_cm_rounding_at_the_edge():
    # 9.378182 - 6.378182 is slightly above 3 in binary floating point; still inside the window
    cm = np.array([6.378182, 9.378182, 9.378183])
    assert 9.378182 - 6.378182 > 3.0
    np.testing.assert_array_equal(window_ends(np.array([1, 2, 3]), cm, window_cm=3.0), [2, 3, 3])


def test_window_ends__pair_exactly_window_kb_apart_is_kept():
    pos = np.array([1000, 2000, 2001, 3001, 3002])
    ends = window_ends(pos, window_kb=1.0)
    # 1000-2000 is exactly 1 kb: kept, 1000-2001 is not; 2001-3001 kept, 2001-3002 not
    np.testing.assert_array_equal(ends, [2, 3, 4, 5, 5])


def test_window_ends__fractional_kb_edge():
    pos = np.array([0, 1500, 1501])
    np.testing.assert_array_equal(window_ends(pos, window_kb=1.5), [2, 3, 3])


def test_window_ends__window_variants():
    ends = window_ends(np.arange(10), window_variants=3)
    np.testing.assert_array_equal(ends, np.minimum(np.arange(10) + 4, 10))


def test_window_ends__window_variants_zero_gives_empty_rows():
    np.testing.assert_array_equal(window_ends(np.arange(6), window_variants=0), np.arange(1, 7))


@pytest.mark.parametrize("window", [
    {"window_cm": 0.01}, {"window_kb": 7.5}, {"window_variants": 4},
    {"window_cm": 0.02, "window_kb": 9}, {"window_kb": 12, "window_variants": 3},
    {"window_cm": 0.015, "window_kb": 20, "window_variants": 5},
])
def test_window_ends__matches_brute_force_intersection(positions, window):
    pos, cm = positions
    expected = _brute_window_ends(pos, cm, **window)
    np.testing.assert_array_equal(window_ends(pos, cm, **window), expected)


def test_window_ends__intersection_is_elementwise_minimum(positions):
    pos, cm = positions
    both = window_ends(pos, cm, window_cm=0.02, window_kb=9, window_variants=4)
    each = [window_ends(pos, cm, window_cm=0.02), window_ends(pos, window_kb=9),
            window_ends(pos, window_variants=4)]
    np.testing.assert_array_equal(both, np.minimum.reduce(each))


@pytest.mark.parametrize("window", [{"window_cm": 0.0}, {"window_kb": 0}, {"window_variants": 0},
                                    {"window_cm": 1e-12, "window_kb": 1e-3}, {"window_kb": 1e6}])
def test_window_ends__end_always_after_own_index(positions, window):
    pos, cm = positions
    ends = window_ends(pos, cm, **window)
    m = len(pos)
    assert ends.dtype == np.int64
    assert np.all(ends >= np.arange(m) + 1) and np.all(ends <= m)


def test_window_ends__duplicate_positions_pair_with_zero_kb_window():
    np.testing.assert_array_equal(window_ends(np.array([5, 5, 5, 6]), window_kb=0), [3, 3, 3, 4])


def test_window_ends__single_and_no_variant():
    np.testing.assert_array_equal(window_ends(np.array([10]), np.array([0.1]), window_cm=1), [1])
    assert len(window_ends(np.array([], dtype=np.int64), np.array([]), window_cm=1)) == 0


def test_window_ends__decreasing_cm_raises():
    with pytest.raises(VibankError, match="decrease"):
        window_ends(np.array([1, 2, 3]), np.array([0.1, 0.3, 0.2]), window_cm=1.0)


def test_window_ends__all_equal_cm_raises():
    with pytest.raises(VibankError, match="no genetic map"):
        window_ends(np.array([1, 2, 3]), np.zeros(3), window_cm=1.0)


def test_window_ends__all_equal_cm_is_fine_without_window_cm():
    ends = window_ends(np.array([1, 2, 3]), np.zeros(3), window_kb=1)
    np.testing.assert_array_equal(ends, [3, 3, 3])


def test_window_ends__needs_a_width_and_cm():
    with pytest.raises(ValueError, match="at least one"):
        window_ends(np.arange(3))
    with pytest.raises(ValueError, match="cm"):
        window_ends(np.arange(3), window_cm=1.0)


# ---------------------------------------------------------------- block_ends


def test_block_ends__variants_outside_blocks_pair_with_nothing():
    pos = np.array([5, 10, 20, 30, 45, 50, 60])
    ends = block_ends(pos, np.array([10]), np.array([40]))
    # block [10, 40) holds variants 1..3; 5, 45, 50, 60 are outside
    np.testing.assert_array_equal(ends, [1, 4, 4, 4, 5, 6, 7])


def test_block_ends__half_open_boundaries():
    pos = np.array([99, 100, 150, 199, 200, 250, 300])
    ends = block_ends(pos, np.array([100, 200]), np.array([200, 300]))
    # 100 starts block 0 and 200 (its end) starts block 1; 300 (end of block 1) is outside
    np.testing.assert_array_equal(ends, [1, 4, 4, 4, 6, 6, 7])


def test_block_ends__empty_block_list():
    ends = block_ends(np.array([1, 2, 3]), np.array([]), np.array([]))
    np.testing.assert_array_equal(ends, [1, 2, 3])


def test_block_ends__gap_between_blocks():
    pos = np.array([0, 10, 20, 30, 40])
    ends = block_ends(pos, np.array([0, 30]), np.array([15, 50]))
    np.testing.assert_array_equal(ends, [2, 2, 3, 5, 5])


@pytest.mark.parametrize("starts, stops", [([0, 50], [60, 100]), ([0, 10], [100, 20]),
                                           ([0, 50, 70], [60, 65, 90])])
def test_block_ends__overlapping_blocks_raise(starts, stops):
    with pytest.raises(VibankError, match="overlap"):
        block_ends(np.arange(0, 100, 5), np.array(starts), np.array(stops))


def test_block_ends__matches_brute_force(positions):
    pos, _ = positions
    edges = np.sort(np.random.default_rng(3).choice(np.arange(pos[0], pos[-1]), 12, replace=False))
    starts, stops = edges[0::2], edges[1::2]  # six disjoint blocks with gaps between them
    ends = block_ends(pos, starts, stops)
    np.testing.assert_array_equal(ends, _brute_block_ends(pos, starts, stops))
    assert np.all(ends >= np.arange(len(pos)) + 1)


# ---------------------------------------------------------------- read_blocks


def _write(tmp_path, text, name="blocks.bed"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_blocks__plain_bed(tmp_path):
    path = _write(tmp_path, "1\t0\t100\n1\t100\t250\n2\t0\t50\n")
    starts, stops = read_blocks(path, "1")
    np.testing.assert_array_equal(starts, [0, 100])
    np.testing.assert_array_equal(stops, [100, 250])
    assert starts.dtype == np.int64 and stops.dtype == np.int64


def test_read_blocks__header_line_tolerated(tmp_path):
    path = _write(tmp_path, "chr start stop\nchr1 10 20\nchr1 30 40\n")
    starts, stops = read_blocks(path, "1")
    np.testing.assert_array_equal(starts, [10, 30])
    np.testing.assert_array_equal(stops, [20, 40])


def test_read_blocks__chr_prefix_and_int_chrom(tmp_path):
    path = _write(tmp_path, "chr1\t10\t20\n1\t30\t40\n")
    np.testing.assert_array_equal(read_blocks(path, 1)[0], [10, 30])


def test_read_blocks__other_chromosomes_ignored(tmp_path):
    path = _write(tmp_path, "chr2 0 5\nchr1 10 20\nchr11 0 9\nchr10 3 4\nchrX 1 2\n")
    starts, stops = read_blocks(path, "1")
    np.testing.assert_array_equal(starts, [10])
    np.testing.assert_array_equal(stops, [20])
    assert len(read_blocks(path, "7")[0]) == 0


def test_read_blocks__unsorted_rows_sorted_and_extra_columns_ignored(tmp_path):
    path = _write(tmp_path, "1 300 400 blockC\n1 0 100 blockA\n1 100 300 blockB\n")
    starts, stops = read_blocks(path, "1")
    np.testing.assert_array_equal(starts, [0, 100, 300])
    np.testing.assert_array_equal(stops, [100, 300, 400])


def test_read_blocks__comment_lines_skipped(tmp_path):
    path = _write(tmp_path, "# LD blocks, hg19\n1 0 100\n1 100 200\n")
    np.testing.assert_array_equal(read_blocks(path, "1")[0], [0, 100])


def test_read_blocks__non_numeric_row_names_the_row(tmp_path):
    path = _write(tmp_path, "1 0 100\n1 100 200\n1 2O0 300\n")
    with pytest.raises(VibankError, match=r"blocks\.bed: row 3\b.*not a number"):
        read_blocks(path, "1")


def test_read_blocks__non_numeric_row_after_header_names_the_file_line(tmp_path):
    path = _write(tmp_path, "chrom start end\n1 0 100\n1 1x0 200\n")
    with pytest.raises(VibankError, match=r"row 3\b"):
        read_blocks(path, "1")


def test_read_blocks__block_ending_before_start_raises(tmp_path):
    path = _write(tmp_path, "1 0 100\n1 300 200\n")
    with pytest.raises(VibankError, match="ends before it starts"):
        read_blocks(path, "1")


def test_read_blocks__missing_file_raises(tmp_path):
    with pytest.raises(VibankError, match="absent.bed: LD block file not found"):
        read_blocks(tmp_path / "absent.bed", "1")


def test_read_blocks__feeds_block_ends(tmp_path):
    path = _write(tmp_path, "chr1 100 200\nchr1 200 300\nchr2 0 1000\n")
    pos = np.array([50, 100, 150, 200, 299, 300])
    np.testing.assert_array_equal(block_ends(pos, *read_blocks(path, "1")), [1, 3, 3, 5, 5, 6])


def test_read_blocks__line_numbers_count_comments_and_blank_lines(tmp_path):
    path = _write(tmp_path, "# LD blocks\n\n1 0 100\n   \n1 1x0 200\n")
    with pytest.raises(VibankError, match=r"blocks\.bed: row 5: start/end is not a number$"):
        read_blocks(path, "1")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n"])
def test_read_blocks__empty_file_raises(tmp_path, text):
    with pytest.raises(VibankError, match=r"blocks\.bed: LD block file is empty"):
        read_blocks(_write(tmp_path, text), "1")


def test_read_blocks__header_without_blocks_raises(tmp_path):
    with pytest.raises(VibankError, match="header line but no blocks"):
        read_blocks(_write(tmp_path, "chr start stop\n"), "1")


@pytest.mark.parametrize("first", ["1 1x0 100", "1 start0 100", "1 0 1OO", "chr1 end start"])
def test_read_blocks__first_row_with_a_typo_is_not_taken_as_header(tmp_path, first):
    # only a first line naming the start and end columns is a header; anything else is data
    path = _write(tmp_path, f"{first}\n1 100 200\n")
    with pytest.raises(VibankError, match=r"blocks\.bed: row 1: start/end is not a number"):
        read_blocks(path, "1")


def test_read_blocks__unknown_column_names_are_not_a_header(tmp_path):
    path = _write(tmp_path, "region first last\n1 0 100\n")
    with pytest.raises(VibankError, match=r"row 1: start/end is not a number \(a header line must"):
        read_blocks(path, "1")


@pytest.mark.parametrize("header", ["chr\tstart\tstop", "CHROM START END",
                                    "chrom chromStart chromEnd", "chromosome begin end id"])
def test_read_blocks__known_header_names(tmp_path, header):
    path = _write(tmp_path, f"{header}\nchr1 10 20\nchr1 30 40\n")
    np.testing.assert_array_equal(read_blocks(path, "1")[0], [10, 30])


def test_read_blocks__header_row_only_on_the_first_line(tmp_path):
    path = _write(tmp_path, "1 0 100\nchr start stop\n")
    with pytest.raises(VibankError, match=r"row 2: start/end is not a number$"):
        read_blocks(path, "1")


def test_read_blocks__too_few_columns_names_the_row(tmp_path):
    path = _write(tmp_path, "1 0 100\n1 100\n")
    with pytest.raises(VibankError, match=r"blocks\.bed: row 2: expected chrom, start and end"):
        read_blocks(path, "1")


def test_read_blocks__whole_numbers_only(tmp_path):
    starts, stops = read_blocks(_write(tmp_path, "1 0 1e3\n1 1000.0 2000\n"), "1")
    np.testing.assert_array_equal(starts, [0, 1000])
    np.testing.assert_array_equal(stops, [1000, 2000])
    with pytest.raises(VibankError, match=r"row 2: start/end is not a number"):
        read_blocks(_write(tmp_path, "1 0 100\n1 100.5 200\n"), "1")


def test_read_blocks__block_ending_before_start_names_the_row(tmp_path):
    path = _write(tmp_path, "chr start end\n1 0 100\n1 200 200\n")
    with pytest.raises(VibankError, match=r"row 3: block 1:200-200 ends before it starts"):
        read_blocks(path, "1")


def test_read_blocks__overlapping_rows_raise_naming_both_rows(tmp_path):
    # unsorted in the file: rows 2 and 4 overlap once sorted by start
    path = _write(tmp_path, "chr start end\nchr1 0 100\nchr1 300 400\nchr1 50 150\n")
    with pytest.raises(VibankError, match=r"blocks\.bed: rows 2 and 4: blocks 0-100 and 50-150 "
                                          r"on chromosome 1 overlap$"):
        read_blocks(path, "1")


def test_read_blocks__overlap_on_another_chromosome_is_not_checked(tmp_path):
    path = _write(tmp_path, "2 0 100\n2 50 150\n1 0 100\n")
    np.testing.assert_array_equal(read_blocks(path, "1")[0], [0])


def test_read_blocks__gzip_file(tmp_path):
    import gzip

    path = tmp_path / "blocks.bed.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("chr start stop\nchr1 100 200\nchr1 0 100\n")
    np.testing.assert_array_equal(read_blocks(path, "1")[0], [0, 100])


def test_read_blocks__directory_or_binary_file_raises_one_line(tmp_path):
    with pytest.raises(VibankError, match=r"LD block file is a directory"):
        read_blocks(tmp_path, "1")
    path = tmp_path / "blocks.bin"
    path.write_bytes(bytes(range(128, 256)))
    with pytest.raises(VibankError, match=r"blocks\.bin: cannot read the LD block file") as err:
        read_blocks(path, "1")
    assert "\n" not in str(err.value)


def test_block_ends__unsorted_blocks_give_the_sorted_result():
    pos = np.array([5, 10, 20, 30, 45, 50, 60])
    starts, stops = np.array([40, 0, 20]), np.array([70, 15, 35])
    order = np.argsort(starts)
    expected = block_ends(pos, starts[order], stops[order])
    np.testing.assert_array_equal(block_ends(pos, starts, stops), expected)
    np.testing.assert_array_equal(expected, _brute_block_ends(pos, starts, stops))


def test_block_ends__unsorted_overlapping_blocks_raise_naming_them():
    with pytest.raises(VibankError, match=r"^LD blocks overlap: 0-60 and 50-100$"):
        block_ends(np.arange(0, 100, 5), np.array([50, 0]), np.array([100, 60]))
