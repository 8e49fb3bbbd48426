"""Reads corpus parts written by model/corpus (see model/corpus/corpusFormat.ts for the layout).

Standard library only (array, json, lzma, tarfile): the same code runs here, in CI, and on the GPU machine.
A part is a folder, or a .tar.xz of one (what travels to the GPU machine); it holds whole packages.
"""
import json
import os
import sys
import tarfile
from array import array

CORPUS_FORMAT = 'quest-lens-corpus'
CORPUS_VERSION = 1
SAFE_LINE = 0x80000000
DEF_DECLARATION = 1 << 8
DEF_SIGNATURE = 1 << 9


class CorpusError(Exception):
    pass


class Table:
    """A (rows, columns) table of unsigned ints held as one flat array."""

    def __init__(self, data, columns):
        self.data = data
        self.columns = list(columns)
        self.width = len(self.columns)
        if len(data) % self.width:
            raise CorpusError(f'table of {len(data)} values is not a whole number of {self.width}-column rows')
        self.rows = len(data) // self.width
        self.col = {c: i for i, c in enumerate(self.columns)}

    def row(self, i):
        w = self.width
        return self.data[i * w:(i + 1) * w]

    def get(self, i, column):
        return self.data[i * self.width + self.col[column]]


def _read_array(path, dtype):
    a = array('H' if dtype == 'u16' else 'I')
    if a.itemsize != (2 if dtype == 'u16' else 4):
        raise CorpusError(f'array type for {dtype} has itemsize {a.itemsize}')
    with open(path, 'rb') as f:
        a.frombytes(f.read())
    if sys.byteorder != 'little':
        a.byteswap()
    return a


def unpack_part(archive, into):
    """Extracts a part's .tar.xz into `into`/<name> (once) and returns that folder."""
    name = os.path.basename(archive)
    for suffix in ('.tar.xz', '.txz'):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    dest = os.path.join(into, name)
    done = os.path.join(dest, '.unpacked')
    if os.path.exists(done):
        return dest
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(archive, 'r:xz') as tar:
        for member in tar.getmembers():
            target = os.path.normpath(os.path.join(dest, member.name))
            if not member.isfile() or not target.startswith(os.path.normpath(dest) + os.sep):
                continue
            with tar.extractfile(member) as src, open(target, 'wb') as out:
                out.write(src.read())
    open(done, 'w').close()
    return dest


class Part:
    """One corpus part: its index and tables."""

    def __init__(self, folder):
        self.folder = folder
        with open(os.path.join(folder, 'index.json'), encoding='utf-8') as f:
            self.index = json.load(f)
        ix = self.index
        if ix.get('format') != CORPUS_FORMAT or ix.get('version') != CORPUS_VERSION:
            raise CorpusError(f'{folder}: format {ix.get("format")} v{ix.get("version")}, expected {CORPUS_FORMAT} v{CORPUS_VERSION}')
        self.name = ix['part']
        self.split = ix['split']
        self.eot = ix['eot']
        self.newline = ix['newline']
        self.whitespace = frozenset(ix['whitespaceTokens'])
        self.constants = ix['constants']
        t = {}
        for key, shape in ix['tables'].items():
            data = _read_array(os.path.join(folder, shape['file']), shape['dtype'])
            if len(data) != shape['rows'] * len(shape['columns']):
                raise CorpusError(f'{folder}/{shape["file"]}: {len(data)} values, index says {shape["rows"]} rows of {len(shape["columns"])}')
            t[key] = data if len(shape['columns']) == 1 else Table(data, shape['columns'])
        self.tokens = t['tokens']
        self.files = t['files']
        self.lines = t['lines']
        self.packages = t['packages']
        self.defs = t['defs']
        self.uses = t['uses']
        self.names = t['names']
        self.seqs = t['seqs']
        self.passkeys = t['passkeys']
        self.quest = t['quest']
        self.quest_tokens = t['questTokens']
        self.package_names = [p['name'] for p in ix['packages']]
        # Packages with at least one definition (window examples need one).
        self.packages_with_defs = [p for p in range(self.packages.rows) if self.packages.get(p, 'defCount') > 0]
        # Definitions and usages are written file by file: per file, its rows are [start[f], start[f + 1]).
        self.file_defs = self._rows_per_file(self.defs)
        self.file_uses = self._rows_per_file(self.uses)

    def _rows_per_file(self, table):
        starts = array('I', [0]) * (self.files.rows + 1)
        w = table.width
        data = table.data
        prev = -1
        for r in range(table.rows):
            f = data[r * w]
            if f < prev:
                raise CorpusError(f'{self.folder}: table rows are not in file order at row {r}')
            starts[f + 1] += 1
            prev = f
        for f in range(self.files.rows):
            starts[f + 1] += starts[f]
        return starts

    # --- files -------------------------------------------------------------------------------------------------
    def file_tokens(self, f):
        start = self.files.get(f, 'tokenStart')
        return self.tokens[start:start + self.files.get(f, 'tokenCount')]

    def file_line_count(self, f):
        """Lines of the file (the line map has one more entry: the end)."""
        return self.files.get(f, 'lineCount') - 1

    def line_start(self, f, n):
        """Token offset (relative to the file's first token) where line n (1-based) starts; n = lines + 1: the end."""
        return self.lines[self.files.get(f, 'lineStart') + n - 1] & 0x7fffffff

    def line_safe(self, f, n):
        """Whether the file's tokens split exactly at the start of line n (n = lines + 1, the end, always does)."""
        return bool(self.lines[self.files.get(f, 'lineStart') + n - 1] & SAFE_LINE)

    def line_tokens(self, f, n):
        """The quoted form of line n: its tokens without leading or trailing whitespace-only tokens."""
        base = self.files.get(f, 'tokenStart')
        a = self.line_start(f, n)
        b = self.line_start(f, n + 1)
        toks = self.tokens[base + a:base + b]
        i, j = 0, len(toks)
        while i < j and toks[i] in self.whitespace:
            i += 1
        while j > i and toks[j - 1] in self.whitespace:
            j -= 1
        return toks[i:j]

    def header_tokens(self, f):
        return self.file_tokens(f)[:self.files.get(f, 'headerTokens')]

    def seq(self, off, length):
        return self.seqs[off:off + length]

    def question(self, name, task):
        col = {'definition': 'def', 'signature': 'sig', 'usage': 'use'}[task]
        return self.seq(self.names.get(name, col + 'Off'), self.names.get(name, col + 'Len'))

    def name_prefix(self, name):
        return self.seq(self.names.get(name, 'prefixOff'), self.names.get(name, 'prefixLen'))


def load_parts(paths, unpack_dir=None):
    """Parts from folders or .tar.xz archives (unpacked under unpack_dir)."""
    parts = []
    for p in paths:
        if os.path.isfile(p):
            if unpack_dir is None:
                raise CorpusError(f'{p} is an archive: give an unpack folder')
            p = unpack_part(p, unpack_dir)
        parts.append(Part(p))
    return parts
