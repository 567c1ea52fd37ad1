# Cross-compile runtime_c for a bare-metal RV32 target: clang-19 compiles (it has _Float16, Zfh,
# RVV 1.0 and Zvfh), the riscv64-unknown-elf GCC driver links against picolibc with semihosting,
# and ctest runs each test under qemu-system-riscv32 (see ../shared/docs/riscv-qemu.md).
#   -DMCUF_TARGET=rv32 | rv32-zfh (default) | rv32-zvfh
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)

set(MCUF_TARGET "rv32-zfh" CACHE STRING "mcuforge target: rv32, rv32-zfh or rv32-zvfh")
if(MCUF_TARGET STREQUAL "rv32")
  set(MCUF_MARCH rv32imafc)
  set(MCUF_QEMU_CPU "rv32")
elseif(MCUF_TARGET STREQUAL "rv32-zfh")
  set(MCUF_MARCH rv32imafc_zfh)
  set(MCUF_QEMU_CPU "rv32,Zfh=true")
elseif(MCUF_TARGET STREQUAL "rv32-zvfh")
  set(MCUF_MARCH rv32imafcv_zfh_zvfh)
  set(MCUF_QEMU_CPU "rv32,Zfh=true,v=true,vlen=128,elen=64,vext_spec=v1.0")
else()
  message(FATAL_ERROR "MCUF_TARGET must be rv32, rv32-zfh or rv32-zvfh, not '${MCUF_TARGET}'")
endif()

set(PICOLIBC /usr/lib/picolibc/riscv64-unknown-elf)
find_program(MCUF_CLANG clang-19 REQUIRED)
find_program(MCUF_RVGCC riscv64-unknown-elf-gcc REQUIRED)
find_program(MCUF_RVAR riscv64-unknown-elf-ar REQUIRED)
find_program(MCUF_RVRANLIB riscv64-unknown-elf-ranlib REQUIRED)
find_program(MCUF_QEMU qemu-system-riscv32 REQUIRED)

set(CMAKE_C_COMPILER ${MCUF_CLANG})
set(CMAKE_C_COMPILER_TARGET riscv32-unknown-elf)
set(CMAKE_AR ${MCUF_RVAR})
set(CMAKE_RANLIB ${MCUF_RVRANLIB})
set(CMAKE_C_FLAGS_INIT "-march=${MCUF_MARCH} -mabi=ilp32f -ffunction-sections -fdata-sections -isystem ${PICOLIBC}/include")
set(CMAKE_C_FLAGS_RELEASE_INIT "-O3")
# Checks compile only: linking needs the GCC driver below, which the compiler checks don't know.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(MCUF_RV_LINK_FLAGS
  "-march=rv32imafc -mabi=ilp32f --specs=picolibc.specs --oslib=semihost --crt0=semihost \
-Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x400000 \
-Wl,--defsym=__ram=0x80400000 -Wl,--defsym=__ram_size=0x1000000 -Wl,--defsym=__stack_size=0x10000 -Wl,--gc-sections")
set(CMAKE_C_LINK_EXECUTABLE
  "${MCUF_RVGCC} ${MCUF_RV_LINK_FLAGS} <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES> -lm")
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/qemu-run.sh;${MCUF_QEMU_CPU}")
