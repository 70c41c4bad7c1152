! A Fortran consumer of mltrack's module (built by the CMake and Makefile routes in tests/consumers/): logs one
! run to JSONL under DIR; the route checks DIR/consumer-exp/r1/events.jsonl.
! Usage: consumer_f DIR      (a failing call stops the program with its message)
program consumer_f
  use, intrinsic :: iso_fortran_env, only: real64
  use mltrack
  implicit none
  character(len=1024) :: dir
  type(mltrack_tracker) :: t
  type(mltrack_run) :: r
  type(mltrack_metric) :: loss
  call get_command_argument(1, dir)
  call t%open("experiment=consumer-exp; sink=jsonl:" // trim(dir))
  call t%start_run(r, "r1")
  call r%param("lr", 0.1_real64)
  call r%metric("loss", loss)
  call loss%log(0.5_real64, step=0)
  call r%end()
  call t%close()
  print '(a)', "consumer_f: logged with mltrack " // mltrack_version()
end program consumer_f
