package mysqlserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// paramColumn is the generic parameter definition of PREPARE_OK.
var paramColumn = Column{Name: "?", Type: TypeVarString, Charset: CollationBinary, Flags: FlagBinary}

func (c *conn) prepare(ctx context.Context, sql string) bool {
	if len(c.stmts) >= MaxPreparedStmts {
		return c.writeErr(CodeError(mysql.ER_MAX_PREPARED_STMT_COUNT_REACHED, MaxPreparedStmts)) == nil
	}
	p, err := c.h.Prepare(ctx, sql)
	if err != nil {
		return c.writeErr(err) == nil
	}
	if p == nil {
		p = &Prepared{}
	}
	if p.NumParams < 0 || p.NumParams > math.MaxUint16 || len(p.Columns) > math.MaxUint16 ||
		(p.Params != nil && len(p.Params) != p.NumParams) {
		return c.writeErr(Errorf(mysql.ER_UNKNOWN_ERROR,
			"internal error: bad prepared statement metadata (%d params, %d param definitions, %d columns)",
			p.NumParams, len(p.Params), len(p.Columns))) == nil
	}
	c.stmtID++
	for c.stmtID == 0 || c.stmts[c.stmtID] != nil {
		c.stmtID++
	}
	st := &Stmt{
		ID:        c.stmtID,
		SQL:       sql,
		NumParams: p.NumParams,
		Columns:   p.Columns,
		Context:   p.Context,
		params:    p.Params,
	}
	c.stmts[st.ID] = st

	// COM_STMT_PREPARE_OK
	b := append(c.wbuf[:4], 0)
	b = binary.LittleEndian.AppendUint32(b, st.ID)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(st.Columns)))
	b = binary.LittleEndian.AppendUint16(b, uint16(st.NumParams))
	b = append(b, 0, 0, 0) // filler, warning count
	if err := c.writePacket(b); err != nil {
		return false
	}
	if st.NumParams > 0 {
		for i := range st.NumParams {
			col := &paramColumn
			if st.params != nil {
				col = &st.params[i]
			}
			if err := c.writePacket(c.appendColumnDef(c.wbuf[:4], col, false)); err != nil {
				return false
			}
		}
		if err := c.writeEOF(0, c.status()); err != nil {
			return false
		}
	}
	if len(st.Columns) > 0 {
		for i := range st.Columns {
			if err := c.writePacket(c.appendColumnDef(c.wbuf[:4], &st.Columns[i], false)); err != nil {
				return false
			}
		}
		if err := c.writeEOF(0, c.status()); err != nil {
			return false
		}
	}
	return true
}

var errMalformed = errors.New("malformed packet")

func (c *conn) execute(ctx context.Context, data []byte) bool {
	if len(data) < 9 {
		_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
		return false
	}
	id := binary.LittleEndian.Uint32(data)
	st, ok := c.stmts[id]
	if !ok {
		return c.writeErr(CodeError(mysql.ER_UNKNOWN_STMT_HANDLER, len(strconv.Itoa(int(id))), strconv.Itoa(int(id)), "mysqld_stmt_execute")) == nil
	}
	// data[4] holds the cursor flags: a cursor is never opened, the whole
	// result set is sent (without SERVER_STATUS_CURSOR_EXISTS, which tells
	// clients that asked for one). data[5:9] is the iteration count (1).
	args, err := c.decodeParams(st, data[9:])
	st.clearLongData()
	if err != nil {
		if errors.Is(err, errMalformed) {
			_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
			return false
		}
		return c.writeErr(err) == nil
	}
	r, err := c.h.Execute(ctx, st, args)
	if err != nil {
		return c.writeErr(err) == nil
	}
	if r == nil {
		r = &Result{}
	}
	_, werr := c.writeResult(r, false, true, st.Columns)
	return werr == nil
}

// decodeParams decodes the parameter block of COM_STMT_EXECUTE: NULL bitmap,
// new-params-bound flag, types (remembered for later executes, which clients
// send without types), values.
func (c *conn) decodeParams(st *Stmt, data []byte) ([]any, error) {
	n := st.NumParams
	if n == 0 {
		return nil, nil
	}
	nb := (n + 7) / 8
	if len(data) < nb+1 {
		return nil, errMalformed
	}
	nullMap := data[:nb]
	bound := data[nb]
	data = data[nb+1:]
	if bound == 1 {
		if len(data) < 2*n {
			return nil, errMalformed
		}
		if st.types == nil {
			st.types = make([]ParamType, n)
		}
		for i := range n {
			st.types[i] = ParamType{Type: FieldType(data[2*i]), Unsigned: data[2*i+1]&0x80 != 0}
		}
		data = data[2*n:]
	} else if st.types == nil {
		return nil, CodeError(mysql.ER_WRONG_ARGUMENTS, "mysqld_stmt_execute (no parameter types bound)")
	}
	if st.longSize > c.srv.cfg.MaxAllowedPacket {
		return nil, CodeError(mysql.ER_NET_PACKET_TOO_LARGE)
	}
	args := make([]any, n)
	for i := range n {
		if nullMap[i/8]&(1<<(i%8)) != 0 {
			continue
		}
		t := st.types[i]
		if st.longSet != nil && st.longSet[i] {
			// Sent with COM_STMT_SEND_LONG_DATA; not repeated here.
			args[i] = st.longData[i]
			if args[i] == nil {
				args[i] = []byte{}
			}
			st.longData[i] = nil
			continue
		}
		v, k, err := decodeParam(t, data)
		if err != nil {
			return nil, err
		}
		args[i] = v
		data = data[k:]
	}
	return args, nil
}

// decodeParam decodes one binary-protocol value of type t.
func decodeParam(t ParamType, b []byte) (any, int, error) {
	need := func(k int) error {
		if len(b) < k {
			return errMalformed
		}
		return nil
	}
	switch t.Type {
	case TypeNull:
		return nil, 0, nil
	case TypeTiny:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		if t.Unsigned {
			return uint64(b[0]), 1, nil
		}
		return int64(int8(b[0])), 1, nil
	case TypeShort, TypeYear:
		if err := need(2); err != nil {
			return nil, 0, err
		}
		u := binary.LittleEndian.Uint16(b)
		if t.Unsigned {
			return uint64(u), 2, nil
		}
		return int64(int16(u)), 2, nil
	case TypeLong, TypeInt24:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		u := binary.LittleEndian.Uint32(b)
		if t.Unsigned {
			return uint64(u), 4, nil
		}
		return int64(int32(u)), 4, nil
	case TypeLongLong:
		if err := need(8); err != nil {
			return nil, 0, err
		}
		u := binary.LittleEndian.Uint64(b)
		if t.Unsigned {
			return u, 8, nil
		}
		return int64(u), 8, nil
	case TypeFloat:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 4, nil
	case TypeDouble:
		if err := need(8); err != nil {
			return nil, 0, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), 8, nil
	case TypeDate, TypeNewDate, TypeDateTime, TypeTimestamp:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		n := int(b[0])
		if n != 0 && n != 4 && n != 7 && n != 11 {
			return nil, 0, errMalformed
		}
		if err := need(1 + n); err != nil {
			return nil, 0, err
		}
		var dt dateTime
		p := b[1:]
		if n >= 4 {
			dt.year, dt.month, dt.day = int(binary.LittleEndian.Uint16(p)), int(p[2]), int(p[3])
		}
		if n >= 7 {
			dt.hour, dt.minute, dt.second = int(p[4]), int(p[5]), int(p[6])
		}
		if n == 11 {
			dt.micro = int(binary.LittleEndian.Uint32(p[7:]))
		}
		if dt.month == 0 || dt.day == 0 {
			// Zero dates cannot be a time.Time.
			var s []byte
			s = appendPadded(s, dt.year, 4)
			s = append(s, '-')
			s = appendPadded(s, dt.month, 2)
			s = append(s, '-')
			s = appendPadded(s, dt.day, 2)
			s = append(s, ' ')
			s = appendClock(s, dt.hour, dt.minute, dt.second, dt.micro, 0)
			return string(s), 1 + n, nil
		}
		return time.Date(dt.year, time.Month(dt.month), dt.day, dt.hour, dt.minute, dt.second, dt.micro*1000, time.UTC), 1 + n, nil
	case TypeTime:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		n := int(b[0])
		if n != 0 && n != 8 && n != 12 {
			return nil, 0, errMalformed
		}
		if err := need(1 + n); err != nil {
			return nil, 0, err
		}
		var d time.Duration
		if n >= 8 {
			p := b[1:]
			d = time.Duration(binary.LittleEndian.Uint32(p[1:]))*24*time.Hour +
				time.Duration(p[5])*time.Hour + time.Duration(p[6])*time.Minute + time.Duration(p[7])*time.Second
			if n == 12 {
				d += time.Duration(binary.LittleEndian.Uint32(p[8:])) * time.Microsecond
			}
			if p[0] == 1 {
				d = -d
			}
		}
		return d, 1 + n, nil
	case TypeVarchar, TypeVarString, TypeString, TypeDecimal, TypeNewDecimal, TypeEnum, TypeSet, TypeJSON:
		s, k, ok := readLenEncBytes(b)
		if !ok {
			return nil, 0, errMalformed
		}
		return string(s), k, nil
	case TypeTinyBlob, TypeMediumBlob, TypeLongBlob, TypeBlob, TypeGeometry, TypeBit:
		s, k, ok := readLenEncBytes(b)
		if !ok {
			return nil, 0, errMalformed
		}
		return bytes.Clone(s), k, nil
	}
	return nil, 0, Errorf(mysql.ER_WRONG_ARGUMENTS, "Incorrect arguments to mysqld_stmt_execute (unknown parameter type %d)", t.Type)
}

// sendLongData handles COM_STMT_SEND_LONG_DATA (no response): the data is
// appended to the parameter's value for the next execute.
func (c *conn) sendLongData(data []byte) bool {
	if len(data) < 6 {
		_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
		return false
	}
	st, ok := c.stmts[binary.LittleEndian.Uint32(data)]
	if !ok {
		return true // MySQL ignores it too; execute reports the unknown statement
	}
	p := int(binary.LittleEndian.Uint16(data[4:]))
	if p >= st.NumParams {
		return true
	}
	if st.longSet == nil {
		st.longSet = make([]bool, st.NumParams)
		st.longData = make([][]byte, st.NumParams)
	}
	st.longSet[p] = true
	st.longSize += len(data) - 6
	if st.longSize <= c.srv.cfg.MaxAllowedPacket { // else execute fails with 1153
		st.longData[p] = append(st.longData[p], data[6:]...)
	}
	return true
}

func (st *Stmt) clearLongData() {
	if st.longSet == nil {
		return
	}
	clear(st.longSet)
	clear(st.longData)
	st.longSize = 0
}

// stmtReset handles COM_STMT_RESET: drop long data, answer OK.
func (c *conn) stmtReset(data []byte) bool {
	if len(data) < 4 {
		_ = c.writeErr(CodeError(mysql.ER_MALFORMED_PACKET))
		return false
	}
	id := binary.LittleEndian.Uint32(data)
	st, ok := c.stmts[id]
	if !ok {
		return c.writeErr(CodeError(mysql.ER_UNKNOWN_STMT_HANDLER, len(strconv.Itoa(int(id))), strconv.Itoa(int(id)), "mysqld_stmt_reset")) == nil
	}
	st.clearLongData()
	return c.writeOK(&Result{}, c.status()) == nil
}
