package stack

// Stack is a LIFO of ints.
type Stack struct{ items []int }

func (s *Stack) Push(v ...int) { s.items = append(s.items, v...) }

func (s *Stack) Pop() (int, bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

var _ = &Stack{items: []int{1, 2, 3}}
