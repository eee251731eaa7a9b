package sql

import "flag"

var rewrite = flag.Bool("rewrite", false, "rewrite testdata expectations with the results")
