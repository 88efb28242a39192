// Package shapes computes areas.
package shapes

import (
	"errors"
	"math"
	str "strings"
)

const (
	Pi2      = math.Pi * 2
	maxSides = 1 << 10
	mask     = 0xFF_FF &^ 0b1010
	perm     = 0o755
	ratio    = 1.5e-3
)

type Shape interface {
	Area() float64
	Perimeter() float64
}

type Point struct {
	X, Y float64 `json:"x"`
}

type Polygon struct {
	Name   string
	Points []Point
	*Point
	meta map[string][]int
}

var ErrEmpty = errors.New("empty polygon")

func (p *Polygon) Perimeter() (total float64) {
	for i := range p.Points {
		a, b := p.Points[i], p.Points[(i+1)%len(p.Points)]
		total += math.Hypot(b.X-a.X, b.Y-a.Y)
	}
	return
}

func (p Polygon) Area() float64 {
	sum := 0.0
	n := len(p.Points)
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		sum += p.Points[i].X*p.Points[j].Y - p.Points[j].X*p.Points[i].Y
	}
	if sum < 0 {
		sum = -sum
	}
	return sum / 2
}

func Describe(s Shape) (string, error) {
	switch v := s.(type) {
	case *Polygon:
		if len(v.Points) == 0 {
			return "", ErrEmpty
		}
		return str.ToUpper(v.Name), nil
	default:
		return "shape", nil
	}
}
