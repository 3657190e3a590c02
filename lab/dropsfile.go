package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The drops files: the live drops.jsonl rotates to drops.jsonl.1 (older
// ones shift to .2, .3 ...) before a line would take it past the size
// limit, and the oldest beyond the number kept is removed, so recording
// never stops and the disk use stays bounded. Rotation is by whole lines
// and the names are stable, which DropReader relies on to follow the live
// file (a size-based rotation library would split lines across files).
const (
	DefaultDropsFileSize  = 10 << 20 // bytes per file
	DefaultDropsFilesKept = 4        // rotated files kept besides the live one
)

// dropsFile writes drops.jsonl with rotation.
type dropsFile struct {
	name    string
	maxSize int64
	keep    int
	f       *os.File
	w       *bufio.Writer
	size    int64
}

func openDropsFile(name string, maxSize int64, keep int) (*dropsFile, error) {
	d := &dropsFile{name: name, maxSize: maxSize, keep: keep}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *dropsFile) open() error {
	f, err := os.OpenFile(d.name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	d.f, d.size = f, fi.Size()
	if d.w == nil {
		d.w = bufio.NewWriterSize(f, 64<<10)
	} else {
		d.w.Reset(f)
	}
	return nil
}

// writeLine appends one line (with its newline), rotating first if it
// would take the file past the limit. A file that failed to open or rotate
// is tried again at the next line.
func (d *dropsFile) writeLine(b []byte) error {
	if d.f != nil && d.size > 0 && d.size+int64(len(b)) > d.maxSize {
		if err := d.rotate(); err != nil {
			return fmt.Errorf("rotate %s: %w", d.name, err)
		}
	}
	if d.f == nil {
		if err := d.open(); err != nil {
			return err
		}
	}
	n, err := d.w.Write(b)
	d.size += int64(n)
	return err
}

func (d *dropsFile) rotate() error {
	err := errors.Join(d.w.Flush(), d.f.Close())
	d.f = nil
	if err != nil {
		return err
	}
	if err := os.Remove(rotatedName(d.name, d.keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for i := d.keep - 1; i >= 1; i-- {
		if err := os.Rename(rotatedName(d.name, i), rotatedName(d.name, i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(d.name, rotatedName(d.name, 1)); err != nil {
		return err
	}
	return d.open()
}

func (d *dropsFile) flush() error {
	if d.f == nil || d.w.Buffered() == 0 {
		return nil
	}
	return d.w.Flush()
}

func (d *dropsFile) close() error {
	if d.f == nil {
		return nil
	}
	err := errors.Join(d.w.Flush(), d.f.Close())
	d.f = nil
	return err
}

func rotatedName(name string, i int) string { return name + "." + strconv.Itoa(i) }

// rotatedFiles lists the rotated files of name that exist, oldest first.
func rotatedFiles(name string) ([]string, error) {
	matches, err := filepath.Glob(name + ".*")
	if err != nil {
		return nil, err
	}
	type file struct {
		name string
		n    int
	}
	var fs []file
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, name+"."))
		if err == nil && n > 0 {
			fs = append(fs, file{m, n})
		}
	}
	slices.SortFunc(fs, func(a, b file) int { return b.n - a.n })
	out := make([]string, len(fs))
	for i := range fs {
		out[i] = fs[i].name
	}
	return out, nil
}

// DropReader reads a topology's drops: on its first Read the rotated files
// still kept, oldest first, and the live file; after that what was added,
// following the live file across rotations.
type DropReader struct {
	name        string
	f           *os.File // the file being followed, nil before the live one exists
	off         int64
	readRotated bool // the rotated files preceding the first live file were read
}

// NewDropReader reads the drops file name (Paths.Drops) and its rotations.
func NewDropReader(name string) *DropReader { return &DropReader{name: name} }

// Close closes the file being followed.
func (r *DropReader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// Read returns the drops recorded since the previous Read. A line still
// being written is left for the next one. When nothing was ever recorded
// it returns an error satisfying errors.Is(err, fs.ErrNotExist).
func (r *DropReader) Read() ([]Drop, error) {
	if r.f == nil {
		return r.openLive(nil)
	}
	out, err := r.readFollowed()
	if err != nil {
		return out, err
	}
	fi, err := os.Stat(r.name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, err
	}
	cur, err := r.f.Stat()
	if err != nil {
		return out, err
	}
	if fi != nil && os.SameFile(fi, cur) {
		return out, nil
	}
	// Rotated: the followed file is complete; read it to its end, then
	// the rotated files newer than it and the new live one.
	ds, err := r.readFollowed()
	out = append(out, ds...)
	if err != nil {
		return out, err
	}
	r.Close()
	ds, err = r.openLive(cur)
	return append(out, ds...), err
}

// openLive opens the live file, reads the rotated files that precede it
// (those newer than after when after is set, else all), then the live one.
func (r *DropReader) openLive(after os.FileInfo) ([]Drop, error) {
	f, err := os.Open(r.name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var live os.FileInfo
	if f != nil {
		if live, err = f.Stat(); err != nil {
			f.Close()
			return nil, err
		}
	}
	rotated, err := rotatedFiles(r.name)
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	var out []Drop
	if after != nil || !r.readRotated {
		r.readRotated = true
		var infos []os.FileInfo
		from := 0
		for i, name := range rotated {
			fi, err := os.Stat(name)
			infos = append(infos, fi)
			if err == nil && after != nil && os.SameFile(fi, after) {
				from = i + 1
			}
		}
		for i := from; i < len(rotated); i++ {
			// the live file rotated again since it was opened: it is read below
			if infos[i] == nil || (live != nil && os.SameFile(infos[i], live)) {
				continue
			}
			ds, _, err := ReadDrops(rotated[i], 0)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				if f != nil {
					f.Close()
				}
				return out, err
			}
			out = append(out, ds...)
		}
	}
	if f == nil {
		if len(rotated) == 0 {
			r.readRotated = false
			return out, fmt.Errorf("drops: %w", fs.ErrNotExist)
		}
		return out, nil
	}
	r.f, r.off = f, 0
	ds, err := r.readFollowed()
	return append(out, ds...), err
}

func (r *DropReader) readFollowed() ([]Drop, error) {
	ds, off, err := readDropLines(r.f, r.off)
	r.off = off
	return ds, err
}

// ReadDrops returns the drops recorded in file from byte offset on, and the
// offset after the last complete line (a line being written is left for
// the next read). It reads one file; DropReader reads the rotated ones too.
func ReadDrops(file string, offset int64) ([]Drop, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, offset, err
	}
	defer f.Close()
	return readDropLines(f, offset)
}

func readDropLines(f *os.File, offset int64) ([]Drop, int64, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, offset, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	br := bufio.NewReader(f)
	var out []Drop
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, offset, nil
			}
			return out, offset, fmt.Errorf("read %s: %w", f.Name(), err)
		}
		d, err := parseDrop(line)
		if err != nil {
			return out, offset, fmt.Errorf("%s at byte %d: %w", f.Name(), offset, err)
		}
		out = append(out, d)
		offset += int64(len(line))
	}
}
