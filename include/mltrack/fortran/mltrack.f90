! Why: Fortran simulation codes (climate, CFD, molecular dynamics) log through the same tracker as C and
! C++ code. This module wraps the C API (include/mltrack/c/mltrack.h) with iso_c_binding (Fortran 2008):
! derived types for the handles, type-bound procedures with optional arguments
! (`call run%log("train/loss", loss, step=it)`), strings passed as Fortran strings (no NUL to add; trailing
! blanks of fixed-length strings are dropped), and real32/real64/int32/int64 overloads. Built into
! libmltrack-fortran with its mltrack.mod (docs/c-fortran.md).
!
! Errors: every procedure takes an optional `stat` (integer, intent(out)): MLTRACK_OK (0) or a status code
! of the C API, with mltrack_last_error() / mltrack_last_error_id() giving the message and the stable id.
! Without `stat`, a failure prints the message and stops the program (error stop).
module mltrack
  use, intrinsic :: iso_c_binding, only: c_char, c_double, c_int, c_int64_t, c_null_char, c_ptr, c_loc, &
                                          c_null_ptr, c_f_pointer, c_associated, c_size_t
  use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64, error_unit
  implicit none
  private

  public :: mltrack_tracker, mltrack_run, mltrack_metric
  public :: mltrack_last_error, mltrack_last_error_id, mltrack_version
  public :: mltrack_termination_install, mltrack_termination_signal, mltrack_termination_remove
  public :: mltrack_detect_rank

  ! Status codes (mltrack_status in the C header).
  integer, parameter, public :: MLTRACK_OK = 0, MLTRACK_E_ARGUMENT = 1, MLTRACK_E_HANDLE = 2, &
                                MLTRACK_E_NAME = 3, MLTRACK_E_VALUE = 4, MLTRACK_E_SHAPE = 5, MLTRACK_E_STATE = 6, &
                                MLTRACK_E_IO = 7, MLTRACK_E_FORMAT = 8, MLTRACK_E_CONFIG = 9, &
                                MLTRACK_E_UNSUPPORTED = 10, MLTRACK_E_NOMEM = 11, MLTRACK_E_INTERNAL = 12
  ! How start_run treats an existing run.
  integer, parameter, public :: MLTRACK_START_CREATE = 0, MLTRACK_START_RESUME = 1, &
                                MLTRACK_START_CREATE_OR_RESUME = 2
  ! The states a run ends with.
  integer, parameter, public :: MLTRACK_STATE_COMPLETE = 1, MLTRACK_STATE_FAILED = 2, &
                                MLTRACK_STATE_CANCELLED = 3, MLTRACK_STATE_PREEMPTED = 4
  ! Artifact types.
  integer, parameter, public :: MLTRACK_ARTIFACT = 0, MLTRACK_ARTIFACT_MODEL = 1, MLTRACK_ARTIFACT_DATASET = 2
  ! The step that means "the metric's next step" (what a log call without step= uses).
  integer(c_int64_t), parameter, public :: MLTRACK_STEP_NEXT = ibset(0_c_int64_t, 63)  ! INT64_MIN

  ! The C handles: a struct holding one 64-bit id, passed by value.
  type, bind(c) :: c_handle
     integer(c_int64_t) :: id = 0
  end type c_handle

  !> A tracker: its sinks, its writer thread. Open with options, close when done.
  type :: mltrack_tracker
     integer(c_int64_t) :: id = 0
   contains
     procedure :: open => tracker_open
     procedure :: flush => tracker_flush
     procedure :: close => tracker_close
     procedure :: rank => tracker_rank
     procedure :: start_run => tracker_start_run
  end type mltrack_tracker

  !> A run: params, metrics, time series, classification metrics, histograms, models and artifacts.
  type :: mltrack_run
     integer(c_int64_t) :: id = 0
   contains
     procedure :: end => run_end
     procedure :: metric => run_metric
     procedure :: last_step => run_last_step
     procedure :: set_tag => run_set_tag
     procedure :: log_series => run_log_series
     procedure :: log_histogram => run_log_histogram
     procedure :: log_model => run_log_model
     procedure :: log_artifact => run_log_artifact
     procedure, private :: run_log_r32, run_log_r32_s32, run_log_r32_s64, run_log_r64, run_log_r64_s32, &
                           run_log_r64_s64, run_log_i32, run_log_i32_s32, run_log_i32_s64, run_log_i64, &
                           run_log_i64_s32, run_log_i64_s64
     generic :: log => run_log_r32, run_log_r32_s32, run_log_r32_s64, run_log_r64, run_log_r64_s32, &
                       run_log_r64_s64, run_log_i32, run_log_i32_s32, run_log_i32_s64, run_log_i64, &
                       run_log_i64_s32, run_log_i64_s64
     procedure, private :: run_param_r32, run_param_r64, run_param_i32, run_param_i64, run_param_bool, run_param_str
     generic :: param => run_param_r32, run_param_r64, run_param_i32, run_param_i64, run_param_bool, run_param_str
     procedure, private :: run_summary_r32, run_summary_r64, run_summary_i32, run_summary_i64, run_summary_str
     generic :: summary => run_summary_r32, run_summary_r64, run_summary_i32, run_summary_i64, run_summary_str
     procedure, private :: run_classification_i32, run_classification_i64
     generic :: log_classification => run_classification_i32, run_classification_i64
  end type mltrack_run

  !> A metric interned once: logging through it is the hot path (no lock, no allocation).
  type :: mltrack_metric
     integer(c_int64_t) :: id = 0
   contains
     procedure, private :: metric_log_r32, metric_log_r32_s32, metric_log_r32_s64, metric_log_r64, &
                           metric_log_r64_s32, metric_log_r64_s64, metric_log_i32, metric_log_i32_s32, &
                           metric_log_i32_s64, metric_log_i64, metric_log_i64_s32, metric_log_i64_s64
     generic :: log => metric_log_r32, metric_log_r32_s32, metric_log_r32_s64, metric_log_r64, &
                       metric_log_r64_s32, metric_log_r64_s64, metric_log_i32, metric_log_i32_s32, &
                       metric_log_i32_s64, metric_log_i64, metric_log_i64_s32, metric_log_i64_s64
  end type mltrack_metric

  interface
     integer(c_int) function c_open_options_n(options, length, out) bind(c, name="mltrack_tracker_open_options_n")
       import :: c_int, c_char, c_int64_t, c_handle
       character(kind=c_char), intent(in) :: options(*)
       integer(c_int64_t), value :: length
       type(c_handle), intent(out) :: out
     end function
     integer(c_int) function c_tracker_flush(t) bind(c, name="mltrack_tracker_flush")
       import :: c_int, c_handle
       type(c_handle), value :: t
     end function
     integer(c_int) function c_tracker_close(t) bind(c, name="mltrack_tracker_close")
       import :: c_int, c_handle
       type(c_handle), value :: t
     end function
     integer(c_int) function c_tracker_rank(t, rank, world_size, inert) bind(c, name="mltrack_tracker_rank")
       import :: c_int, c_handle
       type(c_handle), value :: t
       integer(c_int), intent(out) :: rank, world_size, inert
     end function
     integer(c_int) function c_run_start(t, name, mode, out, resumed) bind(c, name="mltrack_run_start")
       import :: c_int, c_char, c_handle
       type(c_handle), value :: t
       character(kind=c_char), intent(in) :: name(*)
       integer(c_int), value :: mode
       type(c_handle), intent(out) :: out
       integer(c_int), intent(out) :: resumed
     end function
     integer(c_int) function c_run_end(r, state) bind(c, name="mltrack_run_end")
       import :: c_int, c_handle
       type(c_handle), value :: r
       integer(c_int), value :: state
     end function
     integer(c_int) function c_run_last_step(r, key, step, found) bind(c, name="mltrack_run_last_step")
       import :: c_int, c_char, c_int64_t, c_handle, c_ptr
       type(c_handle), value :: r
       type(c_ptr), value :: key
       integer(c_int64_t), intent(out) :: step
       integer(c_int), intent(out) :: found
     end function
     integer(c_int) function c_param_int(r, key, value) bind(c, name="mltrack_run_param_int")
       import :: c_int, c_char, c_int64_t, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*)
       integer(c_int64_t), value :: value
     end function
     integer(c_int) function c_param_double(r, key, value) bind(c, name="mltrack_run_param_double")
       import :: c_int, c_char, c_double, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*)
       real(c_double), value :: value
     end function
     integer(c_int) function c_param_bool(r, key, value) bind(c, name="mltrack_run_param_bool")
       import :: c_int, c_char, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*)
       integer(c_int), value :: value
     end function
     integer(c_int) function c_param_string(r, key, value) bind(c, name="mltrack_run_param_string")
       import :: c_int, c_char, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*), value(*)
     end function
     integer(c_int) function c_set_tag(r, key, value) bind(c, name="mltrack_run_set_tag")
       import :: c_int, c_char, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*), value(*)
     end function
     integer(c_int) function c_summary(r, key, value) bind(c, name="mltrack_run_summary")
       import :: c_int, c_char, c_double, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*)
       real(c_double), value :: value
     end function
     integer(c_int) function c_summary_string(r, key, value) bind(c, name="mltrack_run_summary_string")
       import :: c_int, c_char, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*), value(*)
     end function
     integer(c_int) function c_run_log_n(r, key, key_length, value, step) bind(c, name="mltrack_run_log_n")
       import :: c_int, c_char, c_int64_t, c_double, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*)
       integer(c_int64_t), value :: key_length
       real(c_double), value :: value
       integer(c_int64_t), value :: step
     end function
     integer(c_int) function c_log_series(r, keys, values, n, step) bind(c, name="mltrack_run_log_series")
       import :: c_int, c_ptr, c_double, c_int64_t, c_handle
       type(c_handle), value :: r
       type(c_ptr), intent(in) :: keys(*)
       real(c_double), intent(in) :: values(*)
       integer(c_int64_t), value :: n, step
     end function
     integer(c_int) function c_log_classification(r, display_name, labels, n_labels, matrix, fpr, tpr, thresholds, &
                                                  n_points) bind(c, name="mltrack_run_log_classification")
       import :: c_int, c_ptr, c_double, c_int64_t, c_handle
       type(c_handle), value :: r
       type(c_ptr), value :: display_name
       type(c_ptr), intent(in) :: labels(*)
       integer(c_int64_t), value :: n_labels
       integer(c_int64_t), intent(in) :: matrix(*)
       real(c_double), intent(in) :: fpr(*), tpr(*), thresholds(*)
       integer(c_int64_t), value :: n_points
     end function
     integer(c_int) function c_log_histogram(r, key, values, n, step, buckets) bind(c, name="mltrack_run_log_histogram")
       import :: c_int, c_char, c_double, c_int64_t, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*)
       real(c_double), intent(in) :: values(*)
       integer(c_int64_t), value :: n, step, buckets
     end function
     integer(c_int) function c_log_model(r, path, framework, framework_version, name, copy) &
         bind(c, name="mltrack_run_log_model")
       import :: c_int, c_char, c_ptr, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: path(*)
       type(c_ptr), value :: framework, framework_version, name
       integer(c_int), value :: copy
     end function
     integer(c_int) function c_log_artifact(r, path, name, type, copy) bind(c, name="mltrack_run_log_artifact")
       import :: c_int, c_char, c_ptr, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: path(*)
       type(c_ptr), value :: name
       integer(c_int), value :: type, copy
     end function
     integer(c_int) function c_run_metric_n(r, key, key_length, out) bind(c, name="mltrack_run_metric_n")
       import :: c_int, c_char, c_int64_t, c_handle
       type(c_handle), value :: r
       character(kind=c_char), intent(in) :: key(*)
       integer(c_int64_t), value :: key_length
       type(c_handle), intent(out) :: out
     end function
     integer(c_int) function c_metric_log(m, value, step) bind(c, name="mltrack_metric_log")
       import :: c_int, c_double, c_int64_t, c_handle
       type(c_handle), value :: m
       real(c_double), value :: value
       integer(c_int64_t), value :: step
     end function
     integer(c_int) function c_termination_install(trackers, n, timeout_ms, reraise) &
         bind(c, name="mltrack_termination_install")
       import :: c_int, c_int64_t, c_handle
       type(c_handle), intent(in) :: trackers(*)
       integer(c_int64_t), value :: n, timeout_ms
       integer(c_int), value :: reraise
     end function
     integer(c_int) function c_termination_signal() bind(c, name="mltrack_termination_signal")
       import :: c_int
     end function
     integer(c_int) function c_termination_remove() bind(c, name="mltrack_termination_remove")
       import :: c_int
     end function
     integer(c_int) function c_detect_rank(rank, world_size) bind(c, name="mltrack_detect_rank")
       import :: c_int
       integer(c_int), intent(out) :: rank, world_size
     end function
     type(c_ptr) function c_last_error() bind(c, name="mltrack_last_error")
       import :: c_ptr
     end function
     type(c_ptr) function c_last_error_id() bind(c, name="mltrack_last_error_id")
       import :: c_ptr
     end function
     type(c_ptr) function c_version() bind(c, name="mltrack_version")
       import :: c_ptr
     end function
     integer(c_size_t) function c_strlen(s) bind(c, name="strlen")
       import :: c_ptr, c_size_t
       type(c_ptr), value :: s
     end function
  end interface

  !> NUL-terminated copies of several strings, and their addresses (for arrays of C strings).
  type :: c_string_list
     character(kind=c_char), allocatable :: buffer(:)
     type(c_ptr), allocatable :: pointers(:)
  end type c_string_list

contains

  ! ---- strings, errors, version

  !> A Fortran string as a C string: trailing blanks dropped, NUL added.
  pure function c_str(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=:), allocatable :: c
    c = trim(s) // c_null_char
  end function c_str

  !> A C string (char*) as a Fortran string.
  function f_str(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    if (.not. c_associated(p)) then
       s = ""
       return
    end if
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: s)
    do i = 1, n
       s(i:i) = chars(i)
    end do
  end function f_str

  !> NUL-terminated copies of `strings` (each trimmed) in one buffer, with a pointer to each.
  subroutine make_list(strings, list)
    character(len=*), intent(in) :: strings(:)
    type(c_string_list), intent(out), target :: list
    integer :: i, j, at, total
    total = 0
    do i = 1, size(strings)
       total = total + len_trim(strings(i)) + 1
    end do
    allocate(list%buffer(max(total, 1)), list%pointers(max(size(strings), 1)))
    at = 1
    do i = 1, size(strings)
       list%pointers(i) = c_loc(list%buffer(at))
       do j = 1, len_trim(strings(i))
          list%buffer(at) = strings(i)(j:j)
          at = at + 1
       end do
       list%buffer(at) = c_null_char
       at = at + 1
    end do
  end subroutine make_list

  !> Gives rc to `stat` when present; otherwise stops the program on a failure, with the message.
  subroutine check(rc, stat)
    integer(c_int), intent(in) :: rc
    integer, intent(out), optional :: stat
    if (present(stat)) then
       stat = int(rc)
    else if (rc /= 0) then
       write (error_unit, '(a)') "mltrack: " // mltrack_last_error()
       error stop 1
    end if
  end subroutine check

  !> This thread's message of the latest failure ("[mltrack.error.<id>] ...").
  function mltrack_last_error() result(s)
    character(len=:), allocatable :: s
    s = f_str(c_last_error())
  end function mltrack_last_error

  !> This thread's stable id of the latest failure ("mltrack.error.name.3").
  function mltrack_last_error_id() result(s)
    character(len=:), allocatable :: s
    s = f_str(c_last_error_id())
  end function mltrack_last_error_id

  !> The library's version, "major.minor.patch".
  function mltrack_version() result(s)
    character(len=:), allocatable :: s
    s = f_str(c_version())
  end function mltrack_version

  ! ---- tracker

  !> Opens a tracker from an option string: "experiment=heat; sink=jsonl:runs; ranks=every" (see the C header).
  subroutine tracker_open(self, options, stat)
    class(mltrack_tracker), intent(inout) :: self
    character(len=*), intent(in) :: options
    integer, intent(out), optional :: stat
    type(c_handle) :: h
    call check(c_open_options_n(options, int(len_trim(options), c_int64_t), h), stat)
    self%id = h%id
  end subroutine tracker_open

  subroutine tracker_flush(self, stat)
    class(mltrack_tracker), intent(in) :: self
    integer, intent(out), optional :: stat
    call check(c_tracker_flush(c_handle(self%id)), stat)
  end subroutine tracker_flush

  !> Flushes and closes the sinks; the tracker's runs and metrics become invalid (end runs first).
  subroutine tracker_close(self, stat)
    class(mltrack_tracker), intent(inout) :: self
    integer, intent(out), optional :: stat
    call check(c_tracker_close(c_handle(self%id)), stat)
  end subroutine tracker_close

  !> This process's rank and world size as the tracker resolved them; inert: it writes nothing.
  subroutine tracker_rank(self, rank, world_size, inert, stat)
    class(mltrack_tracker), intent(in) :: self
    integer, intent(out), optional :: rank, world_size
    logical, intent(out), optional :: inert
    integer, intent(out), optional :: stat
    integer(c_int) :: r, w, i
    r = 0
    w = 1
    i = 0
    call check(c_tracker_rank(c_handle(self%id), r, w, i), stat)
    if (present(rank)) rank = int(r)
    if (present(world_size)) world_size = int(w)
    if (present(inert)) inert = i /= 0
  end subroutine tracker_rank

  !> Starts (mode MLTRACK_START_CREATE, the default), resumes or creates-or-resumes a run.
  subroutine tracker_start_run(self, run, name, mode, resumed, stat)
    class(mltrack_tracker), intent(in) :: self
    type(mltrack_run), intent(out) :: run
    character(len=*), intent(in) :: name
    integer, intent(in), optional :: mode
    logical, intent(out), optional :: resumed
    integer, intent(out), optional :: stat
    type(c_handle) :: h
    integer(c_int) :: m, was
    m = MLTRACK_START_CREATE
    if (present(mode)) m = int(mode, c_int)
    was = 0
    call check(c_run_start(c_handle(self%id), c_str(name), m, h, was), stat)
    run%id = h%id
    if (present(resumed)) resumed = was /= 0
  end subroutine tracker_start_run

  ! ---- run

  !> Ends the run (state: MLTRACK_STATE_COMPLETE by default); its metric handles become invalid.
  subroutine run_end(self, state, stat)
    class(mltrack_run), intent(inout) :: self
    integer, intent(in), optional :: state
    integer, intent(out), optional :: stat
    integer(c_int) :: s
    s = MLTRACK_STATE_COMPLETE
    if (present(state)) s = int(state, c_int)
    call check(c_run_end(c_handle(self%id), s), stat)
  end subroutine run_end

  !> Interns a metric key once and returns its hot-path handle.
  subroutine run_metric(self, key, metric, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    type(mltrack_metric), intent(out) :: metric
    integer, intent(out), optional :: stat
    type(c_handle) :: h
    call check(c_run_metric_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), h), stat)
    metric%id = h%id
  end subroutine run_metric

  !> The highest step of the run (or of `key`), counting earlier openings of a resumed run; found is
  !> .false. before any point.
  subroutine run_last_step(self, step, found, key, stat)
    class(mltrack_run), intent(in) :: self
    integer(int64), intent(out) :: step
    logical, intent(out) :: found
    character(len=*), intent(in), optional :: key
    integer, intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: k
    integer(c_int) :: f
    integer(c_int64_t) :: s
    s = 0
    f = 0
    if (present(key)) then
       k = c_str(key)
       call check(c_run_last_step(c_handle(self%id), c_loc(k), s, f), stat)
    else
       call check(c_run_last_step(c_handle(self%id), c_null_ptr, s, f), stat)
    end if
    step = s
    found = f /= 0
  end subroutine run_last_step

  subroutine run_param_bool(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    logical, intent(in) :: value
    integer, intent(out), optional :: stat
    integer(c_int) :: v
    v = 0
    if (value) v = 1
    call check(c_param_bool(c_handle(self%id), c_str(key), v), stat)
  end subroutine run_param_bool

  subroutine run_param_str(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key, value
    integer, intent(out), optional :: stat
    call check(c_param_string(c_handle(self%id), c_str(key), c_str(value)), stat)
  end subroutine run_param_str

  subroutine run_summary_str(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key, value
    integer, intent(out), optional :: stat
    call check(c_summary_string(c_handle(self%id), c_str(key), c_str(value)), stat)
  end subroutine run_summary_str

  subroutine run_set_tag(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key, value
    integer, intent(out), optional :: stat
    call check(c_set_tag(c_handle(self%id), c_str(key), c_str(value)), stat)
  end subroutine run_set_tag

  !> Logs values(i) under keys(i), all at one step (default: the run's next step, shared by all).
  subroutine run_log_series(self, keys, values, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: keys(:)
    real(real64), intent(in) :: values(:)
    integer(int64), intent(in), optional :: step
    integer, intent(out), optional :: stat
    type(c_string_list), target :: list
    integer(c_int64_t) :: s
    if (size(keys) /= size(values)) then
       call check(int(MLTRACK_E_ARGUMENT, c_int), stat)
       return
    end if
    s = MLTRACK_STEP_NEXT
    if (present(step)) s = step
    call make_list(keys, list)
    call check(c_log_series(c_handle(self%id), list%pointers, [real(values, c_double), 0.0_c_double], &
                            int(size(keys), c_int64_t), s), stat)
  end subroutine run_log_series

  !> Classification metrics: labels(n), matrix(n, n) with matrix(i, j) the count of true class i predicted
  !> as j, and optional ROC points (fpr, tpr, thresholds of one length).
  subroutine run_classification_i64(self, labels, matrix, fpr, tpr, thresholds, display_name, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: labels(:)
    integer(int64), intent(in) :: matrix(:, :)
    real(real64), intent(in), optional :: fpr(:), tpr(:), thresholds(:)
    character(len=*), intent(in), optional :: display_name
    integer, intent(out), optional :: stat
    type(c_string_list), target :: list
    character(kind=c_char, len=:), allocatable, target :: name
    real(c_double), allocatable :: f(:), t(:), th(:)
    integer(c_int64_t), allocatable :: flat(:)
    type(c_ptr) :: name_ptr
    integer :: n_points
    if (size(matrix, 1) /= size(labels) .or. size(matrix, 2) /= size(labels) .or. &
        (present(fpr) .neqv. present(tpr)) .or. (present(fpr) .neqv. present(thresholds))) then
       call check(int(MLTRACK_E_ARGUMENT, c_int), stat)
       return
    end if
    n_points = 0
    if (present(fpr)) n_points = size(fpr)
    if (present(tpr)) then
       if (size(tpr) /= n_points .or. size(thresholds) /= n_points) then
          call check(int(MLTRACK_E_ARGUMENT, c_int), stat)
          return
       end if
    end if
    ! One element more than needed: never a zero-sized array to pass.
    allocate(f(n_points + 1), t(n_points + 1), th(n_points + 1), flat(size(matrix) + 1))
    f = 0
    t = 0
    th = 0
    if (present(fpr)) f(1:n_points) = fpr
    if (present(tpr)) t(1:n_points) = tpr
    if (present(thresholds)) th(1:n_points) = thresholds
    ! The C API takes rows one after the other (row = true class): Fortran stores columns.
    flat = 0
    flat(1:size(matrix)) = reshape(transpose(matrix), [size(matrix)])
    name_ptr = c_null_ptr
    if (present(display_name)) then
       name = c_str(display_name)
       name_ptr = c_loc(name)
    end if
    call make_list(labels, list)
    call check(c_log_classification(c_handle(self%id), name_ptr, list%pointers, int(size(labels), c_int64_t), &
                                    flat, f, t, th, int(n_points, c_int64_t)), stat)
  end subroutine run_classification_i64

  subroutine run_classification_i32(self, labels, matrix, fpr, tpr, thresholds, display_name, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: labels(:)
    integer(int32), intent(in) :: matrix(:, :)
    real(real64), intent(in), optional :: fpr(:), tpr(:), thresholds(:)
    character(len=*), intent(in), optional :: display_name
    integer, intent(out), optional :: stat
    call run_classification_i64(self, labels, int(matrix, int64), fpr, tpr, thresholds, display_name, stat)
  end subroutine run_classification_i32

  !> A histogram of values at step, in `buckets` equal-width buckets (default 30).
  subroutine run_log_histogram(self, key, values, step, buckets, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real64), intent(in) :: values(:)
    integer(int64), intent(in) :: step
    integer, intent(in), optional :: buckets
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: b
    b = 0
    if (present(buckets)) b = buckets
    call check(c_log_histogram(c_handle(self%id), c_str(key), [real(values, c_double), 0.0_c_double], &
                               int(size(values), c_int64_t), step, b), stat)
  end subroutine run_log_histogram

  !> Logs a model file or folder: copied into the run (copy, default .true.) or kept as a reference.
  subroutine run_log_model(self, path, framework, framework_version, name, copy, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: path
    character(len=*), intent(in), optional :: framework, framework_version, name
    logical, intent(in), optional :: copy
    integer, intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: fw, fv, nm
    type(c_ptr) :: fw_p, fv_p, nm_p
    integer(c_int) :: c
    fw_p = c_null_ptr
    fv_p = c_null_ptr
    nm_p = c_null_ptr
    if (present(framework)) then
       fw = c_str(framework)
       fw_p = c_loc(fw)
    end if
    if (present(framework_version)) then
       fv = c_str(framework_version)
       fv_p = c_loc(fv)
    end if
    if (present(name)) then
       nm = c_str(name)
       nm_p = c_loc(nm)
    end if
    c = 1
    if (present(copy)) then
       if (.not. copy) c = 0
    end if
    call check(c_log_model(c_handle(self%id), c_str(path), fw_p, fv_p, nm_p, c), stat)
  end subroutine run_log_model

  !> Logs any artifact (type MLTRACK_ARTIFACT, MLTRACK_ARTIFACT_MODEL or MLTRACK_ARTIFACT_DATASET).
  subroutine run_log_artifact(self, path, name, type, copy, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: path
    character(len=*), intent(in), optional :: name
    integer, intent(in), optional :: type
    logical, intent(in), optional :: copy
    integer, intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: nm
    type(c_ptr) :: nm_p
    integer(c_int) :: c, t
    nm_p = c_null_ptr
    if (present(name)) then
       nm = c_str(name)
       nm_p = c_loc(nm)
    end if
    t = MLTRACK_ARTIFACT
    if (present(type)) t = int(type, c_int)
    c = 1
    if (present(copy)) then
       if (.not. copy) c = 0
    end if
    call check(c_log_artifact(c_handle(self%id), c_str(path), nm_p, t, c), stat)
  end subroutine run_log_artifact

  ! ---- termination handler and ranks

  !> Installs the process's termination handler for these trackers (see the C header): on SIGTERM/SIGUSR1
  !> their open runs end PREEMPTED (SIGINT: CANCELLED) and are flushed within timeout_ms (default 10000);
  !> reraise (default .true.) then ends the process by the signal, else poll mltrack_termination_signal().
  subroutine mltrack_termination_install(trackers, timeout_ms, reraise, stat)
    type(mltrack_tracker), intent(in) :: trackers(:)
    integer, intent(in), optional :: timeout_ms
    logical, intent(in), optional :: reraise
    integer, intent(out), optional :: stat
    type(c_handle) :: hs(max(size(trackers), 1))
    integer(c_int64_t) :: t
    integer(c_int) :: r
    integer :: i
    do i = 1, size(trackers)
       hs(i)%id = trackers(i)%id
    end do
    t = 0
    if (present(timeout_ms)) t = timeout_ms
    r = 1
    if (present(reraise)) then
       if (.not. reraise) r = 0
    end if
    call check(c_termination_install(hs, int(size(trackers), c_int64_t), t, r), stat)
  end subroutine mltrack_termination_install

  !> The signal caught and handled, or 0. Never blocks.
  integer function mltrack_termination_signal()
    mltrack_termination_signal = int(c_termination_signal())
  end function mltrack_termination_signal

  subroutine mltrack_termination_remove(stat)
    integer, intent(out), optional :: stat
    call check(c_termination_remove(), stat)
  end subroutine mltrack_termination_remove

  !> This process's rank and world size from the launcher's environment (no MPI needed).
  subroutine mltrack_detect_rank(rank, world_size, stat)
    integer, intent(out) :: rank, world_size
    integer, intent(out), optional :: stat
    integer(c_int) :: r, w
    r = 0
    w = 1
    call check(c_detect_rank(r, w), stat)
    rank = int(r)
    world_size = int(w)
  end subroutine mltrack_detect_rank

  ! ---- the overloads (real32, real64, int32, int64 values; steps of either integer kind)

  subroutine metric_log_r32(self, value)
    class(mltrack_metric), intent(in) :: self
    real(real32), intent(in) :: value
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            MLTRACK_STEP_NEXT))
  end subroutine metric_log_r32

  subroutine metric_log_r32_s32(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    real(real32), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_r32_s32

  subroutine metric_log_r32_s64(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    real(real32), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_r32_s64

  subroutine metric_log_r64(self, value)
    class(mltrack_metric), intent(in) :: self
    real(real64), intent(in) :: value
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            MLTRACK_STEP_NEXT))
  end subroutine metric_log_r64

  subroutine metric_log_r64_s32(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    real(real64), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_r64_s32

  subroutine metric_log_r64_s64(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    real(real64), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_r64_s64

  subroutine metric_log_i32(self, value)
    class(mltrack_metric), intent(in) :: self
    integer(int32), intent(in) :: value
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            MLTRACK_STEP_NEXT))
  end subroutine metric_log_i32

  subroutine metric_log_i32_s32(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    integer(int32), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_i32_s32

  subroutine metric_log_i32_s64(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    integer(int32), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_i32_s64

  subroutine metric_log_i64(self, value)
    class(mltrack_metric), intent(in) :: self
    integer(int64), intent(in) :: value
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            MLTRACK_STEP_NEXT))
  end subroutine metric_log_i64

  subroutine metric_log_i64_s32(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    integer(int64), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_i64_s32

  subroutine metric_log_i64_s64(self, value, step, stat)
    class(mltrack_metric), intent(in) :: self
    integer(int64), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_metric_log(c_handle(self%id), real(value, c_double), &
                            int(step, c_int64_t)), stat)
  end subroutine metric_log_i64_s64

  subroutine run_log_r32(self, key, value)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real32), intent(in) :: value
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), MLTRACK_STEP_NEXT))
  end subroutine run_log_r32

  subroutine run_log_r32_s32(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real32), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_r32_s32

  subroutine run_log_r32_s64(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real32), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_r32_s64

  subroutine run_log_r64(self, key, value)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real64), intent(in) :: value
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), MLTRACK_STEP_NEXT))
  end subroutine run_log_r64

  subroutine run_log_r64_s32(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real64), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_r64_s32

  subroutine run_log_r64_s64(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real64), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_r64_s64

  subroutine run_log_i32(self, key, value)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int32), intent(in) :: value
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), MLTRACK_STEP_NEXT))
  end subroutine run_log_i32

  subroutine run_log_i32_s32(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int32), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_i32_s32

  subroutine run_log_i32_s64(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int32), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_i32_s64

  subroutine run_log_i64(self, key, value)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int64), intent(in) :: value
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), MLTRACK_STEP_NEXT))
  end subroutine run_log_i64

  subroutine run_log_i64_s32(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int64), intent(in) :: value
    integer(int32), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_i64_s32

  subroutine run_log_i64_s64(self, key, value, step, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int64), intent(in) :: value
    integer(int64), intent(in) :: step
    integer, intent(out), optional :: stat
    call check(c_run_log_n(c_handle(self%id), key, int(len_trim(key), c_int64_t), &
                           real(value, c_double), int(step, c_int64_t)), stat)
  end subroutine run_log_i64_s64

  subroutine run_param_r32(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real32), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_param_double(c_handle(self%id), c_str(key), real(value, c_double)), stat)
  end subroutine run_param_r32

  subroutine run_param_r64(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real64), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_param_double(c_handle(self%id), c_str(key), real(value, c_double)), stat)
  end subroutine run_param_r64

  subroutine run_param_i32(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int32), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_param_int(c_handle(self%id), c_str(key), int(value, c_int64_t)), stat)
  end subroutine run_param_i32

  subroutine run_param_i64(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int64), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_param_int(c_handle(self%id), c_str(key), int(value, c_int64_t)), stat)
  end subroutine run_param_i64

  subroutine run_summary_r32(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real32), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_summary(c_handle(self%id), c_str(key), real(value, c_double)), stat)
  end subroutine run_summary_r32

  subroutine run_summary_r64(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    real(real64), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_summary(c_handle(self%id), c_str(key), real(value, c_double)), stat)
  end subroutine run_summary_r64

  subroutine run_summary_i32(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int32), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_summary(c_handle(self%id), c_str(key), real(value, c_double)), stat)
  end subroutine run_summary_i32

  subroutine run_summary_i64(self, key, value, stat)
    class(mltrack_run), intent(in) :: self
    character(len=*), intent(in) :: key
    integer(int64), intent(in) :: value
    integer, intent(out), optional :: stat
    call check(c_summary(c_handle(self%id), c_str(key), real(value, c_double)), stat)
  end subroutine run_summary_i64

end module mltrack
