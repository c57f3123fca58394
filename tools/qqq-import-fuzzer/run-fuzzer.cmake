# Builds the seed corpus from the protoc-encoded lit test models, then runs
# the fuzzer for SECONDS seconds.
file(REMOVE_RECURSE ${CORPUS})
file(MAKE_DIRECTORY ${CORPUS})
find_program(PROTOC protoc REQUIRED)
file(GLOB tests ${SOURCES}/*.test)
foreach(test ${tests})
  file(READ ${test} text)
  if(text MATCHES "protoc --encode" AND NOT text MATCHES "%S/")
    get_filename_component(name ${test} NAME_WE)
    execute_process(COMMAND ${PROTOC} --encode=onnx.ModelProto
        -I/usr/include/onnx /usr/include/onnx/onnx.proto
      INPUT_FILE ${test} OUTPUT_FILE ${CORPUS}/${name}.onnx RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "protoc failed on ${test}")
    endif()
  endif()
endforeach()
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -runs=100000000 ${CORPUS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "qqq-import-fuzzer failed (exit ${rc})")
endif()
