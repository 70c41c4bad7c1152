! The Fortran module, every overload: metric and run logging with real32/real64/int32/int64 values and
! no step, an int32 step or an int64 step; params and summary metrics of every kind; tags, time series,
! classification metrics (int32 and int64 matrices), histograms, models and artifacts; errors through stat
! (bad names, use after end and close, double close). What it logs is read back by the C++ reader
! (c_readback) and checked by `mltrack check`.
!
!   test_fortran_api OUT_DIR READBACK [MLTRACK_CLI]
program test_fortran_api
  use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64, error_unit
  use mltrack
  implicit none

  character(len=1024) :: out_dir, readback, cli
  type(mltrack_tracker) :: t, t2
  type(mltrack_run) :: run, ended
  type(mltrack_metric) :: m32, m64, mi32, mi64, stale
  integer :: ierr, failures, checks, i, rank, world_size
  integer(int64) :: last
  logical :: found, resumed, inert
  character(len=16) :: fixed_key
  character(len=8) :: labels(2), series_keys(2)
  character(len=:), allocatable :: model_path

  failures = 0
  checks = 0
  if (command_argument_count() < 2) then
     write (error_unit, '(a)') "usage: test_fortran_api OUT_DIR READBACK [MLTRACK_CLI]"
     error stop 2
  end if
  call get_command_argument(1, out_dir)
  call get_command_argument(2, readback)
  cli = ""
  if (command_argument_count() >= 3) call get_command_argument(3, cli)

  call expect(len(mltrack_version()) >= 5, "version")

  ! ---- tracker: a bad option string, then a good one (the fixed-length string's blanks are dropped)
  call t%open("experiment=fortran; colour=blue", stat=ierr)
  call expect(ierr == MLTRACK_E_CONFIG .and. mltrack_last_error_id() == "mltrack.error.c.5", "unknown option")
  call t%open("experiment=fortran; sink=mlflow:ftp://127.0.0.1:5000", stat=ierr)
  call expect((ierr == MLTRACK_E_CONFIG .and. mltrack_last_error_id() == "mltrack.error.c.5") .or. &
              (ierr == MLTRACK_E_UNSUPPORTED .and. mltrack_last_error_id() == "mltrack.error.c.6"), &
              "mlflow: not an http(s) URI, or not built")
  call t%open("experiment=fortran; capture_environment=0; sink=jsonl:" // trim(out_dir) // "          ", stat=ierr)
  call expect(ierr == MLTRACK_OK, "open: " // mltrack_last_error())
  call t%rank(rank=rank, world_size=world_size, inert=inert)
  call expect(rank == 0 .and. world_size == 1 .and. .not. inert, "rank")

  call t%start_run(run, "bad name", stat=ierr)
  call expect(ierr == MLTRACK_E_NAME .and. mltrack_last_error_id() == "mltrack.error.name.3", "bad run name")
  call t%start_run(run, "missing", mode=MLTRACK_START_RESUME, stat=ierr)
  call expect(ierr == MLTRACK_E_STATE .and. mltrack_last_error_id() == "mltrack.error.state.2", "resume missing")
  call t%start_run(run, "overloads", resumed=resumed)
  call expect(.not. resumed, "not resumed")

  ! ---- params and summary metrics of every kind
  call run%param("p/r32", 0.5_real32)
  call run%param("p/r64", 0.25_real64)
  call run%param("p/i32", 7_int32)
  call run%param("p/i64", 9000000000_int64)
  call run%param("p/bool", .true.)
  call run%param("p/str", "jacobi")
  fixed_key = "p/fixed"
  call run%param(fixed_key, "padded        ")
  call run%param("p/nan", ieee_nan(), stat=ierr)
  call expect(ierr == MLTRACK_E_VALUE .and. mltrack_last_error_id() == "mltrack.error.value.1", "NaN param")
  call run%param("", 1_int32, stat=ierr)
  call expect(ierr == MLTRACK_E_NAME .and. mltrack_last_error_id() == "mltrack.error.name.1", "empty key")
  call run%summary("s/r32", 1.5_real32)
  call run%summary("s/r64", 2.5_real64)
  call run%summary("s/i32", 3_int32)
  call run%summary("s/i64", 4_int64)
  call run%summary("s/str", "converged")
  call run%set_tag("solver", "cg")

  ! ---- metric handles: every value kind, with no step, an int32 step and an int64 step
  call run%metric("m/r32", m32)
  call run%metric("m/r64", m64)
  call run%metric("m/i32", mi32)
  call run%metric("m/i64", mi64)
  do i = 1, 3
     call m32%log(real(i, real32), step=i)
     call m64%log(real(i, real64), step=int(i, int64))
     call mi32%log(int(i, int32), step=i)
     call mi64%log(int(i, int64), step=int(i, int64))
  end do
  call m32%log(4.0_real32)
  call m64%log(4.0_real64)
  call mi32%log(4_int32)
  call mi64%log(4_int64)
  call m32%log(5.0_real32, step=5_int64, stat=ierr)
  call expect(ierr == MLTRACK_OK, "m32 int64 step")
  call m64%log(5.0_real64, step=5_int32, stat=ierr)
  call expect(ierr == MLTRACK_OK, "m64 int32 step")
  call mi32%log(5_int32, step=5_int64)
  call mi64%log(5_int64, step=5_int32)
  call m64%log(6.0_real64, step=MLTRACK_STEP_NEXT, stat=ierr)  ! the next step, with a status
  call expect(ierr == MLTRACK_OK, "explicit next step")

  ! ---- logging by key: every value kind and step kind
  call run%log("k/r32", 1.0_real32, step=1)
  call run%log("k/r32", 2.0_real32, step=2_int64)
  call run%log("k/r32", 3.0_real32)
  call run%log("k/r64", 1.0_real64, step=1)
  call run%log("k/r64", 2.0_real64, step=2_int64)
  call run%log("k/r64", 3.0_real64)
  call run%log("k/i32", 1_int32, step=1)
  call run%log("k/i32", 2_int32, step=2_int64)
  call run%log("k/i32", 3_int32)
  call run%log("k/i64", 1_int64, step=1)
  call run%log("k/i64", 2_int64, step=2_int64)
  call run%log("k/i64", 3_int64, stat=ierr, step=3)
  call expect(ierr == MLTRACK_OK, "log by key")
  fixed_key = "k/fixed"
  call run%log(fixed_key, 1.0_real64, step=0)  ! trailing blanks of the key are dropped
  call run%log("bad" // achar(10) // "key", 1.0_real64, step=0, stat=ierr)
  call expect(ierr == MLTRACK_E_NAME .and. mltrack_last_error_id() == "mltrack.error.name.6", "control character")

  ! ---- time series, classification metrics, histograms
  series_keys = [character(len=8) :: "ts/a", "ts/b"]
  call run%log_series(series_keys, [1.0_real64, 2.0_real64], step=10_int64)
  call run%log_series(series_keys, [3.0_real64, 4.0_real64])
  call run%log_series(series_keys, [1.0_real64], stat=ierr)
  call expect(ierr == MLTRACK_E_ARGUMENT, "series lengths")
  labels = [character(len=8) :: "cold", "hot"]
  call run%log_classification(labels, reshape([5_int64, 2_int64, 1_int64, 7_int64], [2, 2]), &
                              fpr=[0.0_real64, 0.3_real64, 1.0_real64], tpr=[0.0_real64, 0.8_real64, 1.0_real64], &
                              thresholds=[1.0_real64, 0.5_real64, 0.0_real64], display_name="phase")
  call run%log_classification(labels, reshape([5_int32, 2_int32, 1_int32, 7_int32], [2, 2]))
  call run%log_classification(labels, reshape([5_int32, -2_int32, 1_int32, 7_int32], [2, 2]), stat=ierr)
  call expect(ierr == MLTRACK_E_SHAPE .and. mltrack_last_error_id() == "mltrack.error.shape.4", "negative count")
  call run%log_classification(labels, reshape([1_int32], [1, 1]), stat=ierr)
  call expect(ierr == MLTRACK_E_ARGUMENT, "matrix not n x n")
  call run%log_histogram("h/temperature", [1.0_real64, 2.0_real64, 2.5_real64, 9.0_real64], step=1_int64)
  call run%log_histogram("h/temperature", [1.0_real64, 2.0_real64], step=2_int64, buckets=4)

  ! ---- models and artifacts
  model_path = trim(out_dir) // "/surrogate.bin"
  open (unit=20, file=model_path, status="replace", action="write")
  write (20, '(a)') "weights"
  close (20)
  call run%log_model(model_path, framework="custom", framework_version="1.0")
  call run%log_artifact(model_path, name="surrogate-ref.bin", type=MLTRACK_ARTIFACT_DATASET, copy=.false.)
  call run%log_model(trim(out_dir) // "/no/such/file", stat=ierr)
  call expect(ierr == MLTRACK_E_IO, "missing model file")

  ! ---- last step
  call run%last_step(last, found, key="m/r64")
  call expect(found .and. last == 6, "last step of m/r64")
  call run%last_step(last, found)
  call expect(found .and. last == 11, "last step of the run")

  ! ---- end, then use after end and close
  stale = m64
  ended = run
  call run%end()
  call ended%end(stat=ierr)
  call expect(ierr == MLTRACK_E_HANDLE .and. mltrack_last_error_id() == "mltrack.error.c.3", "double end")
  call stale%log(1.0_real64, step=99, stat=ierr)
  call expect(ierr == MLTRACK_E_HANDLE, "metric after end")
  call ended%log("k/r64", 1.0_real64, step=99, stat=ierr)
  call expect(ierr == MLTRACK_E_HANDLE, "run after end")

  ! ---- resume; the termination handler's install/remove; close twice
  call t%start_run(run, "overloads", mode=MLTRACK_START_RESUME, resumed=resumed)
  call expect(resumed, "resumed")
  call run%last_step(last, found, key="k/i64")
  call expect(found .and. last == 3, "resumed last step")
  call run%log("k/i64", 4_int64, step=last + 1)
  call mltrack_termination_install([t], timeout_ms=2000, reraise=.false.)
  call mltrack_termination_install([t], stat=ierr)
  call expect(ierr == MLTRACK_E_STATE .and. mltrack_last_error_id() == "mltrack.error.state.9", "second handler")
  call expect(mltrack_termination_signal() == 0, "no signal yet")
  call mltrack_termination_remove()
  call mltrack_termination_remove(stat=ierr)
  call expect(ierr == MLTRACK_E_STATE, "remove twice")
  call run%end(state=MLTRACK_STATE_CANCELLED)
  t2 = t
  call t%close()
  call t2%close(stat=ierr)
  call expect(ierr == MLTRACK_E_HANDLE, "double close")
  call t2%flush(stat=ierr)
  call expect(ierr == MLTRACK_E_HANDLE, "flush after close")
  call mltrack_detect_rank(rank, world_size)
  call expect(rank >= 0 .and. world_size >= 1, "detect rank")

  call read_back("fortran/overloads", "state=CANCELLED resumes=1 param:p/r32=0.5 param:p/r64=0.25 param:p/i32=7 " // &
                 "param:p/i64=9000000000 param:p/bool=true param:p/str=jacobi param:p/fixed=padded " // &
                 "summary:s/r32=1.5 summary:s/r64=2.5 summary:s/i32=3 summary:s/i64=4 summary_text:s/str=converged " // &
                 "tag:solver=cg steps:m/r32=1..5 steps:m/r64=1..6 steps:m/i32=1..5 steps:m/i64=1..5 " // &
                 "steps:k/r32=1..3 steps:k/r64=1..3 steps:k/i32=1..3 steps:k/i64=1..4 points:k/fixed=1 " // &
                 "points:ts/a=2 points:ts/b=2 steps:ts/a=10..11 classifications=2 histograms:h/temperature=2 artifacts=2")
  if (len_trim(cli) > 0) call run_command("'" // trim(cli) // "' check '" // trim(out_dir) // "'")
  deallocate(model_path)  ! a main program's variables are never freed: LeakSanitizer would see it

  if (failures == 0) then
     print '(a, i0, a)', "test_fortran_api: all ", checks, " checks passed"
  else
     write (error_unit, '(a, i0, a, i0, a)') "test_fortran_api: ", failures, " of ", checks, " checks failed"
     error stop 1
  end if

contains

  subroutine expect(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    checks = checks + 1
    if (.not. ok) then
       failures = failures + 1
       write (error_unit, '(a)') "test_fortran_api: failed: " // what // " (last error: " // mltrack_last_error() // ")"
    end if
  end subroutine expect

  subroutine run_command(command)
    character(len=*), intent(in) :: command
    integer :: status
    checks = checks + 1
    call execute_command_line(command, exitstat=status)
    if (status /= 0) then
       failures = failures + 1
       write (error_unit, '(a)') "test_fortran_api: failed: " // command
    end if
  end subroutine run_command

  subroutine read_back(run_path, expectations)
    character(len=*), intent(in) :: run_path, expectations
    call run_command("'" // trim(readback) // "' '" // trim(out_dir) // "/" // run_path // "' " // expectations)
  end subroutine read_back

  function ieee_nan() result(x)
    use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_quiet_nan
    real(real64) :: x
    x = ieee_value(x, ieee_quiet_nan)
  end function ieee_nan

end program test_fortran_api
