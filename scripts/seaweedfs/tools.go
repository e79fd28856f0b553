//go:build tools

// Package tools only records the dependency on the weed command, so that
// `go mod tidy` keeps it and go.sum lists everything it needs.
package tools

import _ "github.com/seaweedfs/seaweedfs/weed"
