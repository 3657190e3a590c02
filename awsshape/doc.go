// Package awsshape holds the EC2 shapes vpcemu's API answers with and that
// `vpcemu import` / `export --format aws` read and write, each as one Go
// struct carrying both encodings: XML element names (the EC2 model's
// locationName, lists as <name><item>…</item></name>, spec API-8/9) and JSON
// names (the SDK and CLI member names, IMP-4). View renders a vpc.Topology
// in these shapes (the Describe side); the way back, shapes to a topology,
// belongs to import and reads the same structs.
//
// Fields AWS may leave out are pointers (*int32, *bool, *Time, *struct) or
// omitempty strings, so an importer can tell "absent" from "zero"; lists AWS
// always returns (tagSet, ipPermissions, …) are written as empty wrappers.
// It is pure: no kernel, no root.
package awsshape
