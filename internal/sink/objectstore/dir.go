package objectstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// TempPrefix starts the name of the temporary files Dir writes an object
// through. Such files are never listed, and no key segment may start with it.
const TempPrefix = ".mwtmp-"

// MetaPrefix starts the name of the sidecar file in which Dir keeps an
// object's user metadata: object <dir>/<name> has its metadata, as a JSON
// object of strings, in <dir>/.mwmeta-<name>. Such files are never listed,
// and no key segment may start with it.
const MetaPrefix = ".mwmeta-"

// Dir is the local stand-in for S3: bucket b is the directory <root>/b and
// key k is the file <root>/b/k, a "/" in the key making subdirectories.
//
// Put creates the bucket directory (and root) on demand, unlike S3, so that
// logging works out of the box without a "create bucket" step. Objects are
// written atomically (temporary file in the target directory, fsync, rename,
// fsync of the directory), so a crash never leaves a partial object.
// ContentType and ContentEncoding are not stored: the bytes are, exactly as
// sent. UserMetadata is kept in a sidecar file (see MetaPrefix), written
// atomically before the object; a Put without user metadata removes the
// sidecar, so Head reports what the latest Put sent.
//
// Keys are restricted to what maps safely onto a file path: non-empty "/"
// separated segments, none of them "." or "..", none starting with
// TempPrefix or MetaPrefix, no NUL, no leading "/". Unlike S3, a key cannot be both an
// object and the prefix of other objects' keys ("a" and "a/b"): Put of the
// second one fails.
//
// A Dir is safe for concurrent use, including by several processes.
type Dir struct {
	root string
}

var (
	_ Store   = (*Dir)(nil)
	_ Header  = (*Dir)(nil)
	_ Deleter = (*Dir)(nil)
)

// NewDir returns a Dir rooted at root, which need not exist yet.
func NewDir(root string) *Dir { return &Dir{root: root} }

// Kind returns "local".
func (d *Dir) Kind() string { return "local" }

// Describe returns the directory that holds bucket.
func (d *Dir) Describe(bucket string) string { return filepath.Join(d.root, bucket) }

// Put writes body under bucket/key atomically, replacing any previous object.
func (d *Dir) Put(ctx context.Context, bucket, key string, body []byte, meta Meta) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	segs, err := checkKey(key)
	if err != nil {
		return err
	}
	if err := checkBucket(bucket); err != nil {
		return err
	}
	bdir := filepath.Join(d.root, bucket)
	dir, err := d.mkdirs(bdir, segs[:len(segs)-1])
	if err != nil {
		return fmt.Errorf("objectstore: put %s/%s: %w", bucket, key, mapFSErr(err))
	}
	target := filepath.Join(dir, segs[len(segs)-1])
	side := filepath.Join(dir, MetaPrefix+segs[len(segs)-1])
	if um := normalizeUserMetadata(meta.UserMetadata); um != nil {
		b, err := json.Marshal(um)
		if err != nil {
			return fmt.Errorf("objectstore: put %s/%s: metadata: %w", bucket, key, err)
		}
		if err := writeAtomic(dir, side, b); err != nil {
			return fmt.Errorf("objectstore: put %s/%s: metadata: %w", bucket, key, mapFSErr(err))
		}
	} else if err := os.Remove(side); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("objectstore: put %s/%s: metadata: %w", bucket, key, mapFSErr(err))
	}
	if err := writeAtomic(dir, target, body); err != nil {
		return fmt.Errorf("objectstore: put %s/%s: %w", bucket, key, mapFSErr(err))
	}
	return nil
}

// Get returns the bytes stored under bucket/key.
func (d *Dir) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	segs, err := checkKey(key)
	if err != nil {
		return nil, err
	}
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	bdir := filepath.Join(d.root, bucket)
	p := filepath.Join(append([]string{bdir}, segs...)...)
	b, err := os.ReadFile(p)
	if err == nil {
		return b, nil
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		if err := d.checkBucketDir(bdir); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("objectstore: get %s: %w", p, ErrNotFound)
	}
	return nil, fmt.Errorf("objectstore: get: %w", mapFSErr(err))
}

// objectPath checks bucket and key and returns the bucket directory, the
// object's path and its metadata sidecar's path.
func (d *Dir) objectPath(bucket, key string) (bdir, obj, side string, err error) {
	segs, err := checkKey(key)
	if err != nil {
		return "", "", "", err
	}
	if err := checkBucket(bucket); err != nil {
		return "", "", "", err
	}
	bdir = filepath.Join(d.root, bucket)
	obj = filepath.Join(append([]string{bdir}, segs...)...)
	side = filepath.Join(filepath.Dir(obj), MetaPrefix+segs[len(segs)-1])
	return bdir, obj, side, nil
}

// Head returns the user metadata stored with bucket/key (ContentType and
// ContentEncoding are not kept locally).
func (d *Dir) Head(ctx context.Context, bucket, key string) (Meta, error) {
	if err := ctx.Err(); err != nil {
		return Meta{}, err
	}
	bdir, obj, side, err := d.objectPath(bucket, key)
	if err != nil {
		return Meta{}, err
	}
	fi, err := os.Stat(obj)
	if err != nil || !fi.Mode().IsRegular() {
		if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			if err := d.checkBucketDir(bdir); err != nil {
				return Meta{}, err
			}
			return Meta{}, fmt.Errorf("objectstore: head %s: %w", obj, ErrNotFound)
		}
		return Meta{}, fmt.Errorf("objectstore: head: %w", mapFSErr(err))
	}
	b, err := os.ReadFile(side)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Meta{}, nil
	case err != nil:
		return Meta{}, fmt.Errorf("objectstore: head: %w", mapFSErr(err))
	}
	var um map[string]string
	if err := json.Unmarshal(b, &um); err != nil {
		return Meta{}, fmt.Errorf("objectstore: head %s: corrupt metadata file %s: %w", obj, side, err)
	}
	return Meta{UserMetadata: normalizeUserMetadata(um)}, nil
}

// Delete removes bucket/key and its metadata; a missing object is not an
// error, a missing bucket is ErrNoSuchBucket.
func (d *Dir) Delete(ctx context.Context, bucket, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	bdir, obj, side, err := d.objectPath(bucket, key)
	if err != nil {
		return err
	}
	if err := d.checkBucketDir(bdir); err != nil {
		return err
	}
	if fi, err := os.Stat(obj); err == nil && fi.IsDir() {
		return nil // a key prefix, not an object: nothing to delete
	}
	for _, p := range []string{obj, side} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("objectstore: delete: %w", mapFSErr(err))
		}
	}
	return syncDir(filepath.Dir(obj))
}

// List calls fn for the objects of bucket whose keys start with prefix and
// sort after startAfter, in S3's order: byte order of the full key (so
// "a-c" comes before "a/b", '-' < '/'), whatever the directory layout.
func (d *Dir) List(ctx context.Context, bucket, prefix, startAfter string, fn func(Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkBucket(bucket); err != nil {
		return err
	}
	bdir := filepath.Join(d.root, bucket)
	if err := d.checkBucketDir(bdir); err != nil {
		return err
	}
	w := walker{ctx: ctx, prefix: prefix, startAfter: startAfter, fn: fn}
	err := w.walk(bdir, "")
	if errors.Is(err, errStopWalk) {
		return nil
	}
	return err
}

// checkBucketDir returns ErrNoSuchBucket (wrapped) if bdir does not exist.
func (d *Dir) checkBucketDir(bdir string) error {
	fi, err := os.Stat(bdir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("objectstore: bucket directory %s: %w", bdir, ErrNoSuchBucket)
	case err != nil:
		return fmt.Errorf("objectstore: %w", mapFSErr(err))
	case !fi.IsDir():
		return fmt.Errorf("objectstore: bucket path %s is not a directory", bdir)
	}
	return nil
}

// errStopWalk ends a listing early (past the prefix); List returns nil.
var errStopWalk = errors.New("stop walk")

type walker struct {
	ctx        context.Context
	prefix     string
	startAfter string
	fn         func(Object) error
}

type dirEntry struct {
	sortKey string // name, plus "/" for a directory
	e       fs.DirEntry
}

// walk visits dir, whose files have keys keyPrefix+name. Entries are
// visited in order of name for files and name+"/" for directories: all keys
// under a directory share that prefix and so form one contiguous run in key
// order, which makes the visit order exactly the full keys' byte order.
func (w *walker) walk(dir, keyPrefix string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		if keyPrefix != "" && errors.Is(err, fs.ErrNotExist) {
			return nil // removed while listing
		}
		return fmt.Errorf("objectstore: list: %w", mapFSErr(err))
	}
	ents := make([]dirEntry, 0, len(des))
	for _, e := range des {
		name := e.Name()
		if strings.HasPrefix(name, TempPrefix) || strings.HasPrefix(name, MetaPrefix) {
			continue
		}
		switch {
		case e.IsDir():
			ents = append(ents, dirEntry{sortKey: name + "/", e: e})
		case e.Type().IsRegular():
			ents = append(ents, dirEntry{sortKey: name, e: e})
		}
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].sortKey < ents[j].sortKey })
	for _, ent := range ents {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		full := keyPrefix + ent.sortKey
		if ent.e.IsDir() {
			// Every key below starts with full.
			if !strings.HasPrefix(w.prefix, full) && !strings.HasPrefix(full, w.prefix) {
				if full > w.prefix {
					return errStopWalk // this and all later keys are past the prefix
				}
				continue
			}
			if full < w.startAfter && !strings.HasPrefix(w.startAfter, full) {
				continue // every key below sorts before startAfter
			}
			if err := w.walk(filepath.Join(dir, ent.e.Name()), full); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(full, w.prefix) {
			if full > w.prefix {
				return errStopWalk
			}
			continue
		}
		if full <= w.startAfter {
			continue
		}
		info, err := ent.e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while listing
			}
			return fmt.Errorf("objectstore: list: %w", mapFSErr(err))
		}
		if err := w.fn(Object{Key: full, Size: info.Size(), LastModified: info.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// mkdirs makes sure bdir/segs... exists, fsyncing the parent of every
// directory it creates, and returns its path.
func (d *Dir) mkdirs(bdir string, segs []string) (string, error) {
	dir := filepath.Join(append([]string{bdir}, segs...)...)
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return dir, nil
	}
	if _, err := os.Stat(d.root); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(d.root, 0o755); err != nil {
			return "", err
		}
		_ = syncDir(filepath.Dir(d.root))
	}
	cur := bdir
	if err := mkdirSync(d.root, cur); err != nil {
		return "", err
	}
	for _, s := range segs {
		parent := cur
		cur = filepath.Join(cur, s)
		if err := mkdirSync(parent, cur); err != nil {
			return "", err
		}
	}
	return cur, nil
}

// mkdirSync creates dir (a child of parent) unless it exists, and fsyncs
// parent if it did create it.
func mkdirSync(parent, dir string) error {
	err := os.Mkdir(dir, 0o755)
	if err == nil {
		return syncDir(parent)
	}
	if errors.Is(err, fs.ErrExist) {
		fi, serr := os.Stat(dir)
		if serr == nil && fi.IsDir() {
			return nil
		}
		if serr == nil {
			return classify(ErrInvalidKey, fmt.Errorf("%s is an object, not a key prefix (directory)", dir))
		}
	}
	return err
}

// writeAtomic writes body to target through a temporary file in dir.
func writeAtomic(dir, target string, body []byte) (err error) {
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(body); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, target); err != nil {
		if fi, serr := os.Stat(target); serr == nil && fi.IsDir() {
			return classify(ErrInvalidKey, fmt.Errorf("%s is a key prefix (directory), not an object", target))
		}
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that entries created or renamed in it are
// durable. Platforms that cannot fsync directories are tolerated.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// mapFSErr classifies permission errors as ErrAccessDenied.
func mapFSErr(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return classify(ErrAccessDenied, err)
	}
	return err
}

// checkBucket rejects bucket names that are not a single safe path segment.
func checkBucket(bucket string) error {
	if bucket == "" || bucket == "." || bucket == ".." ||
		strings.ContainsAny(bucket, "/\x00") || strings.ContainsRune(bucket, filepath.Separator) ||
		strings.HasPrefix(bucket, TempPrefix) || !filepath.IsLocal(bucket) {
		return classify(ErrInvalidKey, fmt.Errorf("objectstore: invalid bucket name %q", bucket))
	}
	return nil
}

// checkKey splits key into its path segments, rejecting keys that could
// escape the bucket directory or that do not map onto a file path.
func checkKey(key string) ([]string, error) {
	bad := func(why string) ([]string, error) {
		return nil, classify(ErrInvalidKey, fmt.Errorf("objectstore: invalid key %q for a local store: %s", key, why))
	}
	switch {
	case key == "":
		return bad("empty")
	case strings.ContainsRune(key, 0):
		return bad("contains NUL")
	case strings.HasPrefix(key, "/"):
		return bad("absolute")
	case filepath.Separator != '/' && strings.ContainsRune(key, filepath.Separator):
		return bad("contains the path separator")
	}
	segs := strings.Split(key, "/")
	for _, s := range segs {
		switch {
		case s == "":
			return bad("empty path segment")
		case s == "." || s == "..":
			return bad(`"." or ".." path segment`)
		case strings.HasPrefix(s, TempPrefix):
			return bad("segment starts with the temporary-file prefix " + TempPrefix)
		case strings.HasPrefix(s, MetaPrefix):
			return bad("segment starts with the metadata-file prefix " + MetaPrefix)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return bad("not a local path")
	}
	return segs, nil
}
