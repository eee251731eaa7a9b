package expr

import (
	"regexp"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/polarsql/polar/compute/keycodec"
	"github.com/polarsql/polar/compute/mysqlserver"
)

func (c *compiler) like(n *ast.PatternLikeOrIlikeExpr) (Expr, error) {
	x, err := c.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	p, err := c.compile(n.Pattern)
	if err != nil {
		return nil, err
	}
	esc := rune(n.Escape)
	if esc == 0 {
		esc = '\\'
	}
	coll := commonColl(x.Type(), p.Type())
	if !n.IsLike { // ILIKE
		coll = keycodec.CollationUTF8MB4GeneralCI
	}
	return &likeExpr{x: x, p: p, xt: x.Type(), pt: p.Type(), esc: esc, not: n.Not, coll: coll}, nil
}

type likeExpr struct {
	x, p   Expr
	xt, pt Type
	esc    rune
	not    bool
	coll   keycodec.Collation
}

func (e *likeExpr) Type() Type { return tBool }

func (e *likeExpr) Eval(ctx *Context, row []Value) (Value, error) {
	a, err := e.x.Eval(ctx, row)
	if err != nil || a.Kind == kNull {
		return Value{}, err
	}
	b, err := e.p.Eval(ctx, row)
	if err != nil || b.Kind == kNull {
		return Value{}, err
	}
	m := likeMatch(bstr(bytesOf(a, e.xt)), bstr(bytesOf(b, e.pt)), e.esc, e.coll)
	return boolVal(m != e.not), nil
}

// likeMatch matches s against a LIKE pattern: '%' any sequence, '_' one
// character (one byte under the binary collation), esc quotes the next
// character. Under utf8mb4_general_ci characters compare by weight (case
// and accent insensitive); trailing spaces count, unlike '='.
func likeMatch(s, p string, esc rune, coll keycodec.Collation) bool {
	binary := coll == keycodec.CollationBinary
	ci := coll == keycodec.CollationUTF8MB4GeneralCI
	next := func(str string, i int) (rune, int) {
		if binary || str[i] < utf8.RuneSelf {
			return rune(str[i]), 1
		}
		return utf8.DecodeRuneInString(str[i:])
	}
	eq := func(a, b rune) bool {
		if a == b {
			return true
		}
		return ci && keycodec.GeneralCIWeight(a) == keycodec.GeneralCIWeight(b)
	}
	si, pi := 0, 0
	starP, starS := -1, -1
	for si < len(s) {
		if pi < len(p) {
			pc, pn := next(p, pi)
			switch {
			case pc == '%':
				starP, starS = pi+pn, si
				pi += pn
				continue
			case pc == '_':
				_, sn := next(s, si)
				si += sn
				pi += pn
				continue
			case pc == esc && pi+pn < len(p):
				lc, ln := next(p, pi+pn)
				sc, sn := next(s, si)
				if eq(sc, lc) {
					si += sn
					pi += pn + ln
					continue
				}
			default:
				sc, sn := next(s, si)
				if eq(sc, pc) {
					si += sn
					pi += pn
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, sn := next(s, starS)
		starS += sn
		si, pi = starS, starP
	}
	for pi < len(p) {
		if p[pi] != '%' {
			return false
		}
		pi++
	}
	return true
}

func (c *compiler) regexp(n *ast.PatternRegexpExpr) (Expr, error) {
	x, err := c.compile(n.Expr)
	if err != nil {
		return nil, err
	}
	p, err := c.compile(n.Pattern)
	if err != nil {
		return nil, err
	}
	e := &regexpExpr{x: x, p: p, xt: x.Type(), pt: p.Type(), not: n.Not, ci: commonColl(x.Type(), p.Type()) == keycodec.CollationUTF8MB4GeneralCI}
	if k, ok := p.(*constExpr); ok && k.v.Kind != kNull {
		re, err := e.compileRE(bytesOf(k.v, k.t))
		if err != nil {
			return nil, err
		}
		e.re = re
	}
	return e, nil
}

type regexpExpr struct {
	x, p   Expr
	xt, pt Type
	not    bool
	ci     bool
	re     *regexp.Regexp // constant pattern
	last   string         // cache of the last non-constant pattern
	lastRE *regexp.Regexp
}

func (e *regexpExpr) compileRE(p []byte) (*regexp.Regexp, error) {
	s := string(p)
	if e.ci {
		s = "(?i)" + s
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, mysqlserver.NewError(3685, "HY000", "Illegal argument to a regular expression.")
	}
	return re, nil
}

func (e *regexpExpr) Type() Type { return tBool }

func (e *regexpExpr) Eval(ctx *Context, row []Value) (Value, error) {
	a, err := e.x.Eval(ctx, row)
	if err != nil || a.Kind == kNull {
		return Value{}, err
	}
	re := e.re
	if re == nil {
		b, err := e.p.Eval(ctx, row)
		if err != nil || b.Kind == kNull {
			return Value{}, err
		}
		pb := bytesOf(b, e.pt)
		if e.lastRE != nil && e.last == string(pb) {
			re = e.lastRE
		} else {
			if re, err = e.compileRE(pb); err != nil {
				return Value{}, err
			}
			e.last, e.lastRE = string(pb), re
		}
	}
	return boolVal(re.Match(bytesOf(a, e.xt)) != e.not), nil
}

// unify is the result type of an expression choosing among values of the
// given types (CASE, IF, COALESCE, GREATEST...), as MySQL aggregates
// them: all integers → BIGINT, exact numbers → DECIMAL, any double →
// DOUBLE, temporal mixes → DATETIME, anything with a string → string.
func unify(ts ...Type) Type {
	var out Type
	first := true
	notNull := true
	for _, t := range ts {
		if t.Kind == kNull {
			notNull = false
			continue
		}
		notNull = notNull && t.NotNull
		if first {
			out, first = t, false
			continue
		}
		out = unify2(out, t)
	}
	if first {
		return tNull
	}
	out.NotNull = notNull
	return out
}

func unify2(a, b Type) Type {
	if a.Kind == b.Kind {
		switch a.Kind {
		case kDec:
			s := max(a.Column.Scale, b.Column.Scale)
			i := max(a.Column.Precision-a.Column.Scale, b.Column.Precision-b.Column.Scale)
			return tDec(i+s, s)
		case kStr:
			t := tString(max(a.Column.Length, b.Column.Length))
			switch commonColl(a, b) {
			case keycodec.CollationBinary:
				t = tBinary(t.Column.Length)
			case keycodec.CollationUTF8MB4Bin:
				t.Column.Collation = "utf8mb4_bin"
			}
			return t
		case kDT, kTS:
			t := tDateTime(max(a.Column.Fsp, b.Column.Fsp))
			t.Kind, t.Column.Name = a.Kind, a.Column.Name
			return t
		}
		if a.Kind == kInt {
			return tInt
		}
		return a
	}
	switch {
	case a.Kind == kStr || b.Kind == kStr:
		return unify2(toStrType(a), toStrType(b))
	case isTemporal(a.Kind) && isTemporal(b.Kind):
		return tDateTime(max(a.Column.Fsp, b.Column.Fsp))
	case isTemporal(a.Kind) || isTemporal(b.Kind):
		return tString(26)
	case a.Kind == kFlt || b.Kind == kFlt:
		return tDouble
	case a.Kind == kDec || b.Kind == kDec:
		return unify2(toDecType(a), toDecType(b))
	}
	// INT with UINT: DECIMAL(20,0) holds both ranges.
	return tDec(20, 0)
}

func toStrType(t Type) Type {
	if t.Kind == kStr {
		return t
	}
	return tString(max(t.Column.Precision+2, 26))
}

func toDecType(t Type) Type {
	if t.Kind == kDec {
		return t
	}
	return tDec(20, 0)
}

// convert changes a value of type from into the kind of type to (for
// results unified by unify); NULL stays NULL.
func convert(ctx *Context, v Value, from, to Type) Value {
	if v.Kind == kNull || v.Kind == to.Kind && v.Kind != kDec {
		return v
	}
	switch to.Kind {
	case kInt:
		return keycodec.IntValue(intOf(ctx, v))
	case kUint:
		return keycodec.UintValue(uintOf(ctx, v))
	case kFlt:
		return keycodec.FloatValue(floatOf(ctx, v))
	case kDec:
		return keycodec.DecimalValue(decRound(decOf(ctx, v), to.Column.Scale))
	case kStr:
		return keycodec.BytesValue(bytesOf(v, from))
	case kDate, kDT, kTS:
		t, _, ok := toDateTime(v)
		if !ok {
			ctx.Warn(1292, "Incorrect datetime value: '%s'", strOf(v, from))
			return Value{}
		}
		if to.Kind == kDate {
			t.Hour, t.Minute, t.Second, t.Microsecond = 0, 0, 0, 0
		}
		return keycodec.TimeValue(to.Kind, t)
	}
	return v
}

func (c *compiler) caseExpr(n *ast.CaseExpr) (Expr, error) {
	e := &caseExpr{}
	var err error
	if n.Value != nil {
		if e.value, err = c.compile(n.Value); err != nil {
			return nil, err
		}
	}
	var results []Type
	cmpTypes := []Type{}
	if e.value != nil {
		cmpTypes = append(cmpTypes, e.value.Type())
	}
	for _, w := range n.WhenClauses {
		cond, err := c.compile(w.Expr)
		if err != nil {
			return nil, err
		}
		res, err := c.compile(w.Result)
		if err != nil {
			return nil, err
		}
		e.whens = append(e.whens, cond)
		e.thens = append(e.thens, res)
		results = append(results, res.Type())
		cmpTypes = append(cmpTypes, cond.Type())
	}
	if n.ElseClause != nil {
		if e.els, err = c.compile(n.ElseClause); err != nil {
			return nil, err
		}
		results = append(results, e.els.Type())
	} else {
		results = append(results, tNull)
	}
	e.t = unify(results...)
	e.coll = commonColl(cmpTypes...)
	return e, nil
}

type caseExpr struct {
	value        Expr
	whens, thens []Expr
	els          Expr
	t            Type
	coll         keycodec.Collation
}

func (e *caseExpr) Type() Type { return e.t }

func (e *caseExpr) Eval(ctx *Context, row []Value) (Value, error) {
	var base Value
	if e.value != nil {
		var err error
		if base, err = e.value.Eval(ctx, row); err != nil {
			return Value{}, err
		}
	}
	for i, w := range e.whens {
		v, err := w.Eval(ctx, row)
		if err != nil {
			return Value{}, err
		}
		hit := false
		if e.value != nil {
			hit = base.Kind != kNull && v.Kind != kNull && cmpSQL(ctx, base, v, e.coll) == 0
		} else {
			hit = truth3(ctx, v) == 1
		}
		if hit {
			r, err := e.thens[i].Eval(ctx, row)
			if err != nil {
				return Value{}, err
			}
			return convert(ctx, r, e.thens[i].Type(), e.t), nil
		}
	}
	if e.els == nil {
		return Value{}, nil
	}
	r, err := e.els.Eval(ctx, row)
	if err != nil {
		return Value{}, err
	}
	return convert(ctx, r, e.els.Type(), e.t), nil
}

func errParamCount(name string) error {
	return mysqlserver.CodeError(mysql.ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT, name)
}
