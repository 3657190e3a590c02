package importer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// SnapshotDir is the folder of a Batfish-style AWS snapshot (IMP-5).
const SnapshotDir = "aws_configs"

var (
	reRegionDir  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$`)
	reAccountDir = regexp.MustCompile(`^\d{12}$`)
)

// ReadPaths reads the inputs named on the command line: files as they
// are, and folders as Batfish-style snapshots: DIR/aws_configs (or DIR
// itself) with JSON files of any name directly, per region
// (REGION/*.json) or per account and region (ACCOUNT/REGION/*.json).
// Skipped lists what a snapshot holds that is not read (other folders,
// files that are not JSON), for the user to see.
func ReadPaths(paths []string) (files []File, skipped []string, err error) {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w", err)
		}
		if !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, nil, fmt.Errorf("import: %w", err)
			}
			files = append(files, File{Name: p, Data: data})
			continue
		}
		root := p
		if st, err := os.Stat(filepath.Join(p, SnapshotDir)); err == nil && st.IsDir() {
			root = filepath.Join(p, SnapshotDir)
		}
		fs, sk, err := readSnapshot(root)
		if err != nil {
			return nil, nil, err
		}
		if len(fs) == 0 {
			return nil, nil, fmt.Errorf("import: %s holds no JSON files; valid: a folder of describe JSON files, per region (%s/REGION/*.json) or per account and region (%s/ACCOUNT/REGION/*.json)", p, SnapshotDir, SnapshotDir)
		}
		files = append(files, fs...)
		skipped = append(skipped, sk...)
	}
	return files, skipped, nil
}

// readSnapshot reads root's JSON files at the depths IMP-5 allows
// [UNCONFIRMED depth rules, INTERP]: root/*.json (default region),
// root/REGION/*.json, root/ACCOUNT/REGION/*.json.
func readSnapshot(root string) ([]File, []string, error) {
	var files []File
	var skipped []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if d.IsDir() {
			switch {
			case len(parts) == 1 && (reRegionDir.MatchString(parts[0]) || reAccountDir.MatchString(parts[0])):
				return nil
			case len(parts) == 2 && reAccountDir.MatchString(parts[0]) && reRegionDir.MatchString(parts[1]):
				return nil
			}
			skipped = append(skipped, path+string(filepath.Separator))
			return filepath.SkipDir
		}
		if !strings.EqualFold(filepath.Ext(path), ".json") {
			skipped = append(skipped, path)
			return nil
		}
		f := File{Name: path}
		switch len(parts) {
		case 2:
			if reAccountDir.MatchString(parts[0]) {
				skipped = append(skipped, path)
				return nil
			}
			f.Region = parts[0]
		case 3:
			f.Account, f.Region = parts[0], parts[1]
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Data = data
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("import: read snapshot %s: %w", root, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, skipped, nil
}
