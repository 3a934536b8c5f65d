-- only a comment
;
