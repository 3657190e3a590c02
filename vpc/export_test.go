package vpc

import "go.yaml.in/yaml/v3"

// MarshalFileForm is yaml.Marshal of t's file form: what YAML wrote before
// it built the node tree itself, for TestToNodeOfRandomTopologies.
func MarshalFileForm(t *Topology) []byte {
	f := t.fileForm()
	out, err := yaml.Marshal(&f)
	if err != nil {
		panic(err)
	}
	return out
}
