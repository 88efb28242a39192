package main

import (
	"fmt"
	"sync"
)

type result struct {
	id    int
	value string
}

func worker(id int, jobs <-chan int, results chan<- result, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		if j%2 == 0 && j != 0 || j > 100 {
			continue
		} else if j < 0 {
			break
		}
		results <- result{id: id, value: fmt.Sprintf("job %d -> %q", j, 'x')}
	}
}

func main() {
	jobs := make(chan int, 100)
	results := make(chan result, 100)
	var wg sync.WaitGroup
	for w := 1; w <= 3; w++ {
		wg.Add(1)
		go worker(w, jobs, results, &wg)
	}
	for _, n := range []int{1, 2, 3, 4, 5} {
		jobs <- n
	}
	close(jobs)
	go func() {
		wg.Wait()
		close(results)
	}()
	counts := map[int]int{}
	for r := range results {
		counts[r.id]++
	}
	total := 0
	for {
		total++
		if total >= len(counts) {
			break
		}
	}
	fmt.Println(counts, total)
}
