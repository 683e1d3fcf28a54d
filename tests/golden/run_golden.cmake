# The golden files (tests/data/golden): every *.eml goes through the real binary,
#   authmilter check -c golden.conf --zone golden.zone --json <NAME.args> NAME.eml
# and its output, without the volatile elapsed_ms line, must equal NAME.expected. On a
# difference the unified diff is printed and the test fails, so a behaviour change shows as a
# diff. -DUPDATE=ON rewrites the .expected files instead (review the diff before committing).
#
# Usage: cmake -DAUTHMILTER=path/to/authmilter -DGOLDEN_DIR=tests/data/golden
#              -DWORK_DIR=build/dir [-DUPDATE=ON] [-DMODE=psl] -P run_golden.cmake
# MODE=psl (CTest golden-psl): golden-psl.conf (DMARCDiscovery psl) instead of golden.conf,
# NAME.psl.expected instead of NAME.expected, and only the messages that have a
# NAME.psl.expected (the DMARC cases; with UPDATE, only those that already have one, or all
# when -DUPDATE_ALL=ON).
cmake_minimum_required(VERSION 3.20)
foreach(var AUTHMILTER GOLDEN_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_golden.cmake: -D${var}=... is required")
  endif()
endforeach()

file(GLOB messages "${GOLDEN_DIR}/*.eml")
list(SORT messages)
if(NOT messages)
  message(FATAL_ERROR "no *.eml in ${GOLDEN_DIR}")
endif()
set(conf "golden.conf")
set(suffix "expected")
if(DEFINED MODE AND MODE STREQUAL "psl")
  set(conf "golden-psl.conf")
  set(suffix "psl.expected")
elseif(DEFINED MODE AND NOT MODE STREQUAL "")
  message(FATAL_ERROR "run_golden.cmake: MODE must be empty or psl")
endif()
if(suffix STREQUAL "psl.expected" AND NOT UPDATE_ALL)
  set(selected "")
  foreach(eml IN LISTS messages)
    get_filename_component(name "${eml}" NAME_WE)
    if(EXISTS "${GOLDEN_DIR}/${name}.${suffix}")
      list(APPEND selected "${eml}")
    endif()
  endforeach()
  set(messages "${selected}")
  if(NOT messages)
    message(FATAL_ERROR "no *.${suffix} in ${GOLDEN_DIR}")
  endif()
endif()
file(MAKE_DIRECTORY "${WORK_DIR}")
set(failed "")
foreach(eml IN LISTS messages)
  get_filename_component(name "${eml}" NAME_WE)
  if(NOT EXISTS "${GOLDEN_DIR}/${name}.args")
    list(APPEND failed "${name} (no ${name}.args)")
    continue()
  endif()
  file(STRINGS "${GOLDEN_DIR}/${name}.args" args_line LIMIT_COUNT 1)
  separate_arguments(args UNIX_COMMAND "${args_line}")
  execute_process(
    COMMAND "${AUTHMILTER}" check -c "${GOLDEN_DIR}/${conf}" --zone "${GOLDEN_DIR}/golden.zone"
            --json ${args} "${eml}"
    OUTPUT_VARIABLE output ERROR_VARIABLE errors RESULT_VARIABLE rc TIMEOUT 60)
  if(NOT rc EQUAL 0)
    list(APPEND failed "${name} (exit ${rc}: ${errors})")
    continue()
  endif()
  # The time taken is the only field that varies between runs of the same input.
  string(REGEX REPLACE "\n *\"elapsed_ms\": [0-9]+" "" output "${output}")
  string(REPLACE ",\n}" "\n}" output "${output}")
  set(got "${WORK_DIR}/${name}.${suffix}.got")
  file(WRITE "${got}" "${output}")
  if(UPDATE)
    file(WRITE "${GOLDEN_DIR}/${name}.${suffix}" "${output}")
    message(STATUS "updated ${name}.${suffix}")
    continue()
  endif()
  if(NOT EXISTS "${GOLDEN_DIR}/${name}.${suffix}")
    list(APPEND failed "${name} (no ${name}.${suffix}; run with -DUPDATE=ON)")
    continue()
  endif()
  file(READ "${GOLDEN_DIR}/${name}.${suffix}" expected)
  if(NOT output STREQUAL expected)
    execute_process(COMMAND diff -u "${GOLDEN_DIR}/${name}.${suffix}" "${got}"
                    OUTPUT_VARIABLE difference)
    message("--- ${name}: output differs from ${name}.${suffix}\n${difference}")
    list(APPEND failed "${name}")
  else()
    message(STATUS "ok ${name}")
  endif()
endforeach()
list(LENGTH messages total)
if(failed)
  list(LENGTH failed count)
  string(REPLACE ";" "\n  " failed "${failed}")
  message(FATAL_ERROR "golden: ${count} of ${total} failed:\n  ${failed}")
endif()
message(STATUS "golden: all ${total} messages match")
