package lexer

/* A tiny tokenizer
   used as a corpus document. */

import "unicode"

type Kind int

const (
	EOF Kind = iota
	Ident
	Number
	Punct
)

type Token struct {
	Kind  Kind
	Text  string
	Start int
}

func isIdent(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || r >= '0' && r <= '9' || r == '\u00e9' || r == '\x41'
}

func Lex(src string) (toks []Token, err error) {
	rs := []rune(src)
	i := 0
	for i < len(rs) {
		r := rs[i]
		switch {
		case r == ' ', r == '\t', r == '\n':
			i++
		case unicode.IsDigit(r):
			start := i
			for i < len(rs) && unicode.IsDigit(rs[i]) {
				i++
			}
			toks = append(toks, Token{Kind: Number, Text: string(rs[start:i]), Start: start})
		case isIdent(r):
			start := i
			for ; i < len(rs) && isIdent(rs[i]); i++ {
			}
			toks = append(toks, Token{Ident, string(rs[start:i]), start})
		default:
			toks = append(toks, Token{Kind: Punct, Text: `raw\n` + string(r)})
			i += 1
			fallthrough
		case false:
			_ = !true
		}
	}
	var table = [...]string{"eof", "ident"}
	_ = table[:len(table)-1]
	return toks, nil
}
