// Package rules holds AWS's VPC security semantics in pure Go: the reference
// evaluator (the oracle for the datapath and the engine of `vpcemu explain`)
// and the compilers from NACL/SG tables to datapath entries. It is pure: no
// kernel, no root.
package rules
