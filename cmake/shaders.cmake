# Every shaders/*.comp is a kernel: compiled by glslangValidator (Vulkan 1.1 / SPIR-V 1.3),
# checked by spirv-val, and embedded with its interface. tools/kernel_interface.py reads
# each module's bindings, push block and specialization constants (and its vka_ pragmas)
# and writes the C side: the kernel ids, a struct per push block and per kernel's
# constants, and the registry rows. Nothing is read from disk at run time, and no list
# of kernels is kept by hand.
find_program(GLSLANG_VALIDATOR glslangValidator REQUIRED DOC "Debian: glslang-tools")
find_program(SPIRV_VAL spirv-val REQUIRED DOC "Debian: spirv-tools")
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(VKATTN_SHADER_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/shaders)
file(MAKE_DIRECTORY ${VKATTN_SHADER_OUTPUT_DIR})

function(vkattn_add_shaders target)
  file(GLOB kernels CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/shaders/*.comp)
  file(GLOB includes CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/shaders/*.glsl)
  set(generator ${CMAKE_CURRENT_SOURCE_DIR}/tools/kernel_interface.py)
  set(spvs)
  set(modules)
  foreach(src ${kernels})
    get_filename_component(name ${src} NAME_WE)
    set(spv ${VKATTN_SHADER_OUTPUT_DIR}/${name}.spv)
    add_custom_command(OUTPUT ${spv}
      COMMAND ${GLSLANG_VALIDATOR} -V --target-env vulkan1.1 --quiet -o ${spv} ${src}
      COMMAND ${SPIRV_VAL} --target-env vulkan1.1 ${spv}
      DEPENDS ${src} ${includes}
      COMMENT "Compiling and validating shader ${name}"
      VERBATIM)
    list(APPEND spvs ${spv})
    list(APPEND modules ${name}=${spv}:${src})
  endforeach()
  set(outputs ${VKATTN_SHADER_OUTPUT_DIR}/vka_kernels.h ${VKATTN_SHADER_OUTPUT_DIR}/vka_kernel_table.h)
  add_custom_command(OUTPUT ${outputs}
    COMMAND ${Python3_EXECUTABLE} ${generator} ${GLSLANG_VALIDATOR} ${VKATTN_SHADER_OUTPUT_DIR} ${modules}
    DEPENDS ${generator} ${spvs} ${kernels} ${includes}
    COMMENT "Generating the kernels' C interface"
    VERBATIM)
  add_custom_target(${target} DEPENDS ${outputs})
endfunction()
