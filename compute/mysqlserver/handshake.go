package mysqlserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/packet"
)

// greetingCollation is the collation announced in the greeting
// (utf8mb4_general_ci, understood by MySQL and MariaDB clients alike).
const greetingCollation = 45

// newSalt returns a 20-byte scramble of printable ASCII without '$' (as
// MySQL generates it), from crypto/rand.
func newSalt() []byte {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = 0x21 + b[i]%0x5e
		if b[i] == '$' {
			b[i]++
		}
	}
	return b
}

// handshakeResponse is the parsed Protocol::HandshakeResponse41.
type handshakeResponse struct {
	caps      uint32
	collation uint8
	user      string
	auth      []byte
	db        string
	plugin    string
	attrs     map[string]string
}

var errBadHandshake = errors.New("bad handshake")

// handshake runs the login phase: greeting, optional TLS upgrade, handshake
// response, authentication (with an auth switch if needed), Handler creation,
// the initial database, OK.
func (c *conn) handshake(ctx context.Context) error {
	cfg := &c.srv.cfg
	_ = c.raw.SetDeadline(time.Now().Add(cfg.HandshakeTimeout))
	c.rbuf.limit = handshakePacketLimit

	salt := newSalt()
	if err := c.writeGreeting(salt); err != nil {
		return err
	}
	data, err := c.readPacket()
	if err != nil {
		return err
	}
	// SSLRequest: the first 32 bytes of a handshake response only.
	if len(data) == 32 && binary.LittleEndian.Uint32(data)&mysql.CLIENT_SSL != 0 {
		if cfg.TLSConfig == nil {
			_ = c.writeErr(Errorf(mysql.ER_HANDSHAKE_ERROR, "SSL connection requested but the server has no TLS configured"))
			_ = c.bc.Flush()
			return errors.New("client requested TLS; not configured")
		}
		if err := c.bc.Flush(); err != nil {
			return err
		}
		tc := tls.Server(c.raw, cfg.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		seq := c.pc.Sequence
		c.nc = tc
		c.bc = newBufConn(tc, cfg.WriteBufferSize)
		c.pc = packet.NewTLSConn(c.bc)
		c.pc.Sequence = seq
		c.info.TLS = true
		if data, err = c.readPacket(); err != nil {
			return err
		}
	}
	resp, err := parseHandshakeResponse(data)
	if err != nil {
		_ = c.writeErr(CodeError(mysql.ER_HANDSHAKE_ERROR))
		_ = c.bc.Flush()
		return err
	}
	c.caps = resp.caps & c.srv.caps
	c.collation = resp.collation
	if c.collation == 0 {
		c.collation = greetingCollation
	}

	// Authenticate. An unknown user goes through the same steps and fails
	// like a wrong password (no user enumeration).
	password, known := cfg.Users[resp.user]
	plugin := resp.plugin
	if resp.caps&mysql.CLIENT_PLUGIN_AUTH == 0 {
		plugin = mysql.AUTH_NATIVE_PASSWORD
	}
	authData := resp.auth
	var ok bool
	switch plugin {
	case mysql.AUTH_NATIVE_PASSWORD:
		ok = known && checkNative(salt, authData, password)
	case mysql.AUTH_CACHING_SHA2_PASSWORD:
		// We hold the passwords, so the scramble can always be verified:
		// the "fast auth" path, never the full (RSA/TLS) authentication.
		ok = known && checkCachingSha2(salt, authData, password)
		if ok && len(authData) > 0 {
			if err := c.writePacket(append(c.wbuf[:4], mysql.MORE_DATE_HEADER, mysql.CACHE_SHA2_FAST_AUTH)); err != nil {
				return err
			}
		}
	default:
		// AuthSwitchRequest to mysql_native_password with a fresh scramble.
		plugin = mysql.AUTH_NATIVE_PASSWORD
		salt = newSalt()
		b := append(c.wbuf[:4], mysql.EOF_HEADER)
		b = append(b, mysql.AUTH_NATIVE_PASSWORD...)
		b = append(b, 0)
		b = append(b, salt...)
		b = append(b, 0)
		if err := c.writePacket(b); err != nil {
			return err
		}
		if authData, err = c.readPacket(); err != nil {
			return err
		}
		authData = bytes.Clone(authData)
		ok = known && checkNative(salt, authData, password)
	}
	if !ok {
		using := "NO"
		if len(authData) > 0 {
			using = "YES"
		}
		c.srv.log.Info("mysqlserver: access denied", "conn", c.id, "user", resp.user, "remote", c.raw.RemoteAddr().String())
		_ = c.writeErr(CodeError(mysql.ER_ACCESS_DENIED_ERROR, resp.user, remoteHost(c.raw.RemoteAddr()), using))
		_ = c.bc.Flush()
		return fmt.Errorf("access denied for user %q", resp.user)
	}

	c.info = ConnInfo{
		ID:         c.id,
		User:       resp.user,
		RemoteAddr: c.raw.RemoteAddr().String(),
		DB:         resp.db,
		Collation:  c.collation,
		Caps:       c.caps,
		Attributes: resp.attrs,
		AuthPlugin: plugin,
		TLS:        c.info.TLS,
		Kill:       func() { _ = c.raw.Close() },
	}
	h, err := c.newHandler()
	if err != nil {
		_ = c.writeErr(err)
		_ = c.bc.Flush()
		return err
	}
	c.h = h
	if resp.db != "" {
		if err := c.useDBSafe(ctx, resp.db); err != nil {
			_ = c.writeErr(err)
			_ = c.bc.Flush()
			return err
		}
	}
	if err := c.writeOK(&Result{}, c.status()); err != nil {
		return err
	}
	if err := c.bc.Flush(); err != nil {
		return err
	}
	return c.raw.SetDeadline(time.Time{})
}

func (c *conn) newHandler() (h Handler, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("mysqlserver: panic in handler factory", "conn", c.id, "panic", r)
			h, err = nil, Errorf(mysql.ER_UNKNOWN_ERROR, "internal error: %v", r)
		}
	}()
	h = c.srv.factory(c.info)
	if h == nil {
		return nil, Errorf(mysql.ER_UNKNOWN_ERROR, "no session available")
	}
	return h, nil
}

func (c *conn) useDBSafe(ctx context.Context, db string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("mysqlserver: panic in Handler.UseDB", "conn", c.id, "panic", r)
			err = Errorf(mysql.ER_UNKNOWN_ERROR, "internal error: %v", r)
		}
	}()
	return c.h.UseDB(ctx, db)
}

// writeGreeting sends Protocol::HandshakeV10.
func (c *conn) writeGreeting(salt []byte) error {
	caps := c.srv.caps
	b := append(c.wbuf[:4], 10)
	b = append(b, c.srv.cfg.Version...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint32(b, c.id)
	b = append(b, salt[:8]...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(caps))
	b = append(b, greetingCollation)
	b = binary.LittleEndian.AppendUint16(b, uint16(StatusAutocommit))
	b = binary.LittleEndian.AppendUint16(b, uint16(caps>>16))
	b = append(b, byte(len(salt)+1))
	b = append(b, make([]byte, 10)...) // reserved (MariaDB: extended capabilities, none)
	b = append(b, salt[8:]...)
	b = append(b, 0)
	b = append(b, c.srv.cfg.AuthPlugin...)
	b = append(b, 0)
	return c.writePacket(b)
}

func checkNative(salt, auth []byte, password string) bool {
	if password == "" {
		return len(auth) == 0
	}
	return subtle.ConstantTimeCompare(mysql.CalcPassword(salt, []byte(password)), auth) == 1
}

func checkCachingSha2(salt, auth []byte, password string) bool {
	if password == "" {
		return len(auth) == 0
	}
	return subtle.ConstantTimeCompare(mysql.CalcCachingSha2Password(salt, password), auth) == 1
}

// parseHandshakeResponse parses Protocol::HandshakeResponse41 (pre-4.1
// clients are refused). Fields are read as the client's capability flags
// declare them; trailing optional fields may be missing.
func parseHandshakeResponse(data []byte) (*handshakeResponse, error) {
	if len(data) < 32 {
		return nil, errBadHandshake
	}
	r := &handshakeResponse{caps: binary.LittleEndian.Uint32(data)}
	if r.caps&mysql.CLIENT_PROTOCOL_41 == 0 {
		return nil, fmt.Errorf("%w: client does not speak protocol 4.1", errBadHandshake)
	}
	r.collation = data[8]
	pos := 32
	nul := func() (string, bool) {
		i := bytes.IndexByte(data[pos:], 0)
		if i < 0 {
			return "", false
		}
		s := string(data[pos : pos+i])
		pos += i + 1
		return s, true
	}
	var ok bool
	if r.user, ok = nul(); !ok {
		return nil, fmt.Errorf("%w: no user name", errBadHandshake)
	}
	switch {
	case r.caps&mysql.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0:
		n, k, ok := readLenEncInt(data[pos:])
		if !ok || uint64(len(data)-pos-k) < n {
			return nil, fmt.Errorf("%w: bad auth response", errBadHandshake)
		}
		pos += k
		r.auth = bytes.Clone(data[pos : pos+int(n)])
		pos += int(n)
	case r.caps&mysql.CLIENT_SECURE_CONNECTION != 0:
		if pos >= len(data) {
			return nil, fmt.Errorf("%w: bad auth response", errBadHandshake)
		}
		n := int(data[pos])
		pos++
		if len(data)-pos < n {
			return nil, fmt.Errorf("%w: bad auth response", errBadHandshake)
		}
		r.auth = bytes.Clone(data[pos : pos+n])
		pos += n
	default:
		s, ok := nul()
		if !ok {
			return nil, fmt.Errorf("%w: bad auth response", errBadHandshake)
		}
		r.auth = []byte(s)
	}
	rest := func() string { // NUL-terminated, or up to the end of the packet
		if s, ok := nul(); ok {
			return s
		}
		s := string(data[pos:])
		pos = len(data)
		return s
	}
	if r.caps&mysql.CLIENT_CONNECT_WITH_DB != 0 && pos < len(data) {
		r.db = rest()
	}
	if r.caps&mysql.CLIENT_PLUGIN_AUTH != 0 && pos < len(data) {
		r.plugin = rest()
	}
	if r.caps&mysql.CLIENT_CONNECT_ATTRS != 0 && pos < len(data) {
		n, k, ok := readLenEncInt(data[pos:])
		if !ok || uint64(len(data)-pos-k) < n {
			return nil, fmt.Errorf("%w: bad connection attributes", errBadHandshake)
		}
		pos += k
		attrs := data[pos : pos+int(n)]
		r.attrs = make(map[string]string)
		for len(attrs) > 0 {
			key, k1, ok := readLenEncBytes(attrs)
			if !ok {
				return nil, fmt.Errorf("%w: bad connection attributes", errBadHandshake)
			}
			attrs = attrs[k1:]
			val, k2, ok := readLenEncBytes(attrs)
			if !ok {
				return nil, fmt.Errorf("%w: bad connection attributes", errBadHandshake)
			}
			attrs = attrs[k2:]
			r.attrs[string(key)] = string(val)
		}
	}
	return r, nil
}
