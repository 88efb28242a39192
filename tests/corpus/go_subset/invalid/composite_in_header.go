package main
func f() { if P{} { } }
