# Telephone front end (transcribe/frontend.c) measured on real signals: tone
# level and image rejection of the interpolator, no delay, folding and noise
# floor spectra (DFT in the test), level normalisation of real speech
# (goforward.raw from ../shared/data or pocketsphinx-testdata), saturation,
# step names, errors, determinism.
cs_add_test(NAME test_frontend
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_frontend.c
            LIBS cs_transcribe m LABELS transcribe frontend)
