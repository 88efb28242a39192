(defmacro swap! (a b)
  `(let ((tmp ,a))
     (setf ,a ,b)
     (setf ,b tmp)))
'(1 2 . 3)
(list 'a '(b c) `(d ,@(list 'e 'f)))
#| a block
   comment |#
(format t "~a says \"hi\"~%" "Ωmega")
