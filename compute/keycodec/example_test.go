package keycodec_test

import (
	"bytes"
	"fmt"

	"github.com/polarsql/polar/compute/keycodec"
)

// A secondary-index key on a utf8mb4_general_ci name column, followed by
// the INT primary key and the MVCC version suffix.
func Example() {
	name := keycodec.ColumnType{Kind: keycodec.KindString, Collation: keycodec.CollationUTF8MB4GeneralCI}

	key := func(s string, pk int64, csn uint64) []byte {
		k, err := keycodec.AppendKey(nil, name, keycodec.StringValue(s))
		if err != nil {
			panic(err)
		}
		k = keycodec.AppendInt(k, pk)
		return keycodec.AppendDescUint64(k, csn)
	}

	a := key("Zoë", 42, 7)
	b := key("zoe  ", 42, 9) // equal name under general_ci; newer version
	fmt.Println("newer version first:", bytes.Compare(b, a) < 0)

	logical, csn, _ := keycodec.SplitVersion(a)
	v, rest, _ := keycodec.DecodeKey(logical, name)
	pk, _, _ := keycodec.DecodeInt(rest)
	fmt.Printf("name key %q, pk %d, csn %d\n", v.Str, pk, csn)

	// Every version of every entry named 'zoe' lies in [prefix, end).
	prefix, _ := keycodec.AppendString(nil, "ZOE", keycodec.CollationUTF8MB4GeneralCI)
	end := keycodec.PrefixEnd(prefix)
	fmt.Println("in range:", bytes.Compare(a, prefix) >= 0 && bytes.Compare(a, end) < 0)

	// NULL sorts first.
	null, _ := keycodec.AppendKey(nil, name, keycodec.NullValue())
	fmt.Println("NULL first:", bytes.Compare(null, a) < 0)

	// Output:
	// newer version first: true
	// name key "ZOE", pk 42, csn 7
	// in range: true
	// NULL first: true
}

func ExampleParseDecimal() {
	a, _ := keycodec.ParseDecimal("1.50")
	b, _ := keycodec.ParseDecimal("1.5")
	ka, _ := keycodec.AppendDecimal(nil, a)
	kb, _ := keycodec.AppendDecimal(nil, b)
	fmt.Println(a, bytes.Equal(ka, kb))
	// Output: 1.5 true
}
