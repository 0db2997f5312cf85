# Archive writer (real libsndfile, real files, forked writers killed at every
# step) and the recordings hash chain (recomputed against a real PostgreSQL).
cs_add_test(NAME test_archive SOURCES test_archive.c LIBS cs_decode LABELS decode)
cs_add_test(NAME test_chain SOURCES test_chain.c LIBS cs_decode DB LABELS decode)
