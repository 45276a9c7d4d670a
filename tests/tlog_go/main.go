// Command tlog_go reads a greenledger log over HTTP as C2SP tlog-tiles with Go's reference
// implementation of tiled transparency logs, golang.org/x/mod/sumdb/tlog, and its signed-note
// verifier, golang.org/x/mod/sumdb/note. It checks:
//
//   - /checkpoint is a note signed by the log key (other signature lines, such as witness
//     cosignatures, are ignored as the note format asks), whose text is origin, size, root;
//   - the hash tiles, read through tlog.TileHashReader (which authenticates every tile it
//     reads against the signed root), give tlog.TreeHash equal to the signed root;
//   - tlog.ProveRecord / tlog.CheckRecord for several indexes, and tlog.ProveTree /
//     tlog.CheckTree from each earlier signed checkpoint given on the command line;
//   - the entry bundles holding those indexes: each leaf's tlog.RecordHash equals the
//     authenticated level-0 hash, and bundles are served gzip-compressed.
//
// Usage: go run . BASE_URL VKEY [EARLIER_CHECKPOINT_FILE...]
//
// It prints OK and exits 0, or prints what failed and exits 1.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: tlog_go BASE_URL VKEY [EARLIER_CHECKPOINT_FILE...]")
		os.Exit(2)
	}
	if err := run(strings.TrimSuffix(os.Args[1], "/"), os.Args[2], os.Args[3:]); err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("OK")
}

// get fetches base/path and insists on status 200 and the given Content-Type.
func get(url, contentType string) (*http.Response, []byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s: status %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != contentType {
		return nil, nil, fmt.Errorf("%s: Content-Type %q, want %q", url, ct, contentType)
	}
	return resp, body, nil
}

// openCheckpoint verifies a checkpoint note with the log key and parses its text.
func openCheckpoint(msg []byte, verifier note.Verifier) (tlog.Tree, error) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("note does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return tlog.Tree{}, fmt.Errorf("checkpoint text %q is not origin, size, root", n.Text)
	}
	if lines[0] != verifier.Name() {
		return tlog.Tree{}, fmt.Errorf("checkpoint origin %q is not the key name %q", lines[0], verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return tlog.Tree{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("bad root hash %q: %v", lines[2], err)
	}
	return tlog.Tree{N: size, Hash: root}, nil
}

// encodeIndex writes a tile index as C2SP tlog-tiles path elements: x001/x234/067.
func encodeIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// tilePath maps Go's tlog.Tile to the C2SP path. Go's own Tile.Path() writes the height
// (tile/8/L/...) and calls record data "data"; tlog-tiles has neither.
func tilePath(t tlog.Tile) string {
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	p := "tile/" + level + "/" + encodeIndex(t.N)
	if t.W < 1<<height {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

// tiles is a tlog.TileReader over HTTP that remembers what it fetched.
type tiles struct {
	base    string
	fetched map[string]bool
}

func (r *tiles) Height() int { return height }

func (r *tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		if t.H != height {
			return nil, fmt.Errorf("tile of height %d asked for", t.H)
		}
		path := tilePath(t)
		_, body, err := get(r.base+"/"+path, "application/octet-stream")
		if err != nil {
			return nil, err
		}
		r.fetched[path] = true
		out[i] = body
	}
	return out, nil
}

func (r *tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// bundle fetches entry bundle n of a tree of size and splits it into leaves.
func bundle(base string, n, size int64) ([][]byte, error) {
	w := size - n*(1<<height)
	if w > 1<<height {
		w = 1 << height
	}
	t := tlog.Tile{H: height, L: -1, N: n, W: int(w)}
	resp, body, err := get(base+"/"+tilePath(t), "application/octet-stream")
	if err != nil {
		return nil, err
	}
	// Go's client asked for gzip itself, so it decompressed the body and dropped the header.
	if !resp.Uncompressed {
		return nil, fmt.Errorf("%s was not served gzip-compressed", tilePath(t))
	}
	var leaves [][]byte
	for len(body) > 0 {
		if len(body) < 2 {
			return nil, fmt.Errorf("%s: truncated length", tilePath(t))
		}
		l := int(binary.BigEndian.Uint16(body))
		if len(body) < 2+l {
			return nil, fmt.Errorf("%s: truncated leaf", tilePath(t))
		}
		leaves = append(leaves, body[2:2+l])
		body = body[2+l:]
	}
	if int64(len(leaves)) != w {
		return nil, fmt.Errorf("%s holds %d leaves, want %d", tilePath(t), len(leaves), w)
	}
	return leaves, nil
}

func run(base, vkey string, earlierFiles []string) error {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("bad vkey %q: %v", vkey, err)
	}
	resp, msg, err := get(base+"/checkpoint", "text/plain; charset=utf-8")
	if err != nil {
		return err
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		return fmt.Errorf("/checkpoint Cache-Control %q", cc)
	}
	tree, err := openCheckpoint(msg, verifier)
	if err != nil {
		return fmt.Errorf("/checkpoint: %v", err)
	}
	if tree.N == 0 {
		return fmt.Errorf("empty tree")
	}
	reader := &tiles{base: base, fetched: map[string]bool{}}
	hashes := tlog.TileHashReader(tree, reader)

	th, err := tlog.TreeHash(tree.N, hashes)
	if err != nil {
		return fmt.Errorf("TreeHash(%d): %v", tree.N, err)
	}
	if th != tree.Hash {
		return fmt.Errorf("TreeHash(%d) = %v, checkpoint says %v", tree.N, th, tree.Hash)
	}

	// Inclusion: the edges, tile boundaries and the middle.
	idx := map[int64]bool{0: true, tree.N / 2: true, tree.N - 1: true}
	for _, i := range []int64{1, 255, 256, 257, 511, 512, 1000, 65535, 65536} {
		if i < tree.N {
			idx[i] = true
		}
	}
	var indexes []int64
	for i := range idx {
		indexes = append(indexes, i)
	}
	sort.Slice(indexes, func(a, b int) bool { return indexes[a] < indexes[b] })
	bundles := map[int64][][]byte{}
	for _, i := range indexes {
		n := i >> height
		if _, ok := bundles[n]; !ok {
			leaves, err := bundle(base, n, tree.N)
			if err != nil {
				return err
			}
			// Every leaf of the bundle hashes to the authenticated level-0 hash.
			first := n << height
			stored := make([]int64, len(leaves))
			for j := range leaves {
				stored[j] = tlog.StoredHashIndex(0, first+int64(j))
			}
			want, err := hashes.ReadHashes(stored)
			if err != nil {
				return fmt.Errorf("leaf hashes of bundle %d: %v", n, err)
			}
			for j, leaf := range leaves {
				if tlog.RecordHash(leaf) != want[j] {
					return fmt.Errorf("leaf %d of bundle %d does not hash to its tile hash", first+int64(j), n)
				}
			}
			bundles[n] = leaves
		}
		leaf := bundles[n][i-(n<<height)]
		proof, err := tlog.ProveRecord(tree.N, i, hashes)
		if err != nil {
			return fmt.Errorf("ProveRecord(%d, %d): %v", tree.N, i, err)
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, i, tlog.RecordHash(leaf)); err != nil {
			return fmt.Errorf("CheckRecord(%d, %d): %v", tree.N, i, err)
		}
		tampered := append(append([]byte{}, leaf...), 0)
		if tlog.CheckRecord(proof, tree.N, tree.Hash, i, tlog.RecordHash(tampered)) == nil {
			return fmt.Errorf("CheckRecord(%d, %d) accepted another leaf", tree.N, i)
		}
	}

	// Consistency from every earlier signed checkpoint.
	for _, f := range earlierFiles {
		msg, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		old, err := openCheckpoint(msg, verifier)
		if err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		if old.N > tree.N {
			return fmt.Errorf("%s: size %d is beyond the current %d", f, old.N, tree.N)
		}
		proof, err := tlog.ProveTree(tree.N, old.N, hashes)
		if err != nil {
			return fmt.Errorf("ProveTree(%d, %d): %v", tree.N, old.N, err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, old.N, old.Hash); err != nil {
			return fmt.Errorf("CheckTree(%d, %d): %v", tree.N, old.N, err)
		}
		oldHash, err := tlog.TreeHash(old.N, hashes)
		if err != nil || oldHash != old.Hash {
			return fmt.Errorf("TreeHash(%d) from the current tiles = %v (%v), signed %v", old.N, oldHash, err, old.Hash)
		}
	}

	var paths []string
	for p := range reader.fetched {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	fmt.Printf("size %d: %d indexes, %d earlier checkpoints, %d bundles, tiles %s\n",
		tree.N, len(indexes), len(earlierFiles), len(bundles), strings.Join(paths, " "))
	return nil
}
