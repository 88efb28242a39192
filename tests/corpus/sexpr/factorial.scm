; classic recursion
(define (factorial n)
  (if (<= n 1)
      1
      (* n (factorial (- n 1)))))

(display (factorial 20)) ; => 2432902008176640000
(newline)
