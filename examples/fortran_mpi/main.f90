! The Fortran MPI example: a 1-D heat rod split over the MPI ranks, stepped in a time loop, with what a job
! on a cluster needs from its tracker:
!   - the rank policy: by default rank 0 logs the global residual and energy (reduced with MPI_Allreduce) and
!     the other ranks' trackers are inert; MLTRACK_RANKS=every makes each rank log its own part too, into its
!     own file;
!   - the termination handler: SIGTERM (a time limit, a preemption) ends the run PREEMPTED and flushes it;
!     the loop sees mltrack_termination_signal() /= 0, writes a checkpoint and stops;
!   - a resume after the requeue: a checkpoint found at start resumes the run (its steps go on).
!
!   mpirun -np 4 fortran_mpi [--out DIR] [--steps N] [--stop-at K]
! --stop-at K simulates the preemption: every rank sends itself SIGTERM after step K.
program fortran_mpi
  use, intrinsic :: iso_c_binding, only: c_int
  use, intrinsic :: iso_fortran_env, only: real64, int64, error_unit
  use mpi
  use mltrack
  implicit none

  interface
     integer(c_int) function c_raise(sig) bind(c, name="raise")
       import :: c_int
       integer(c_int), value :: sig
     end function c_raise
  end interface
  integer(c_int), parameter :: sigterm = 15

  integer, parameter :: cells = 64  ! per rank
  character(len=512) :: out, arg, checkpoint
  integer(int64) :: steps, stop_at, first, it, last
  integer :: ierr, rank, world, i, unit, stat
  logical :: resuming, found, resumed
  real(real64) :: u(0:cells + 1), unew(cells), local(2), global(2), alpha
  type(mltrack_tracker) :: tracker
  type(mltrack_run) :: run
  type(mltrack_metric) :: residual_m, energy_m, local_m

  call mpi_init(ierr)
  call mpi_comm_rank(MPI_COMM_WORLD, rank, ierr)
  call mpi_comm_size(MPI_COMM_WORLD, world, ierr)

  out = "mltrack-out"
  steps = 200
  stop_at = -1
  i = 1
  do while (i <= command_argument_count())
     call get_command_argument(i, arg)
     if (arg == "--out") then
        call get_command_argument(i + 1, out)
     else if (arg == "--steps") then
        call get_command_argument(i + 1, arg)
        read (arg, *) steps
     else if (arg == "--stop-at") then
        call get_command_argument(i + 1, arg)
        read (arg, *) stop_at
     else
        if (rank == 0) write (error_unit, '(a)') "usage: fortran_mpi [--out DIR] [--steps N] [--stop-at K]"
        call mpi_abort(MPI_COMM_WORLD, 2, ierr)
     end if
     i = i + 2
  end do

  ! The tracker reads the rank and world size from mpirun's environment; MLTRACK_RANKS picks the policy.
  call tracker%open("experiment=fortran-mpi; sink=jsonl:" // trim(out) // "/runs; sink=tensorboard:" // &
                    trim(out) // "/tb; ranks=zero")
  call mltrack_termination_install([tracker], timeout_ms=10000, reraise=.false.)

  ! A checkpoint of this rank means the job was requeued: resume the run where it stopped.
  write (checkpoint, '(a, "/checkpoint.rank-", i0)') trim(out), rank
  inquire (file=checkpoint, exist=resuming)
  alpha = 0.25_real64
  u = 0
  if (rank == world / 2) u(1:cells) = 1  ! the heat starts in the middle rank's part
  first = 0
  if (resuming) then
     open (newunit=unit, file=checkpoint, access="stream", form="unformatted", status="old", action="read")
     read (unit) first, u
     close (unit)
     call tracker%start_run(run, "rod", mode=MLTRACK_START_RESUME, resumed=resumed)
     call run%last_step(last, found, key="residual")
     if (rank == 0 .and. found) print '(a, i0, a, i0)', "fortran_mpi: resumed at step ", first, ", last logged ", last
  else
     call tracker%start_run(run, "rod")
     call run%param("alpha", alpha)
     call run%param("cells_per_rank", cells)
     call run%param("ranks", world)
     call run%param("steps", steps)
     call run%param("method", "explicit")
  end if
  call run%metric("residual", residual_m)
  call run%metric("energy", energy_m)
  call run%metric("local/residual", local_m)

  do it = first, steps - 1
     call exchange_halo()
     unew = u(1:cells) + alpha * (u(0:cells - 1) - 2 * u(1:cells) + u(2:cells + 1))
     local(1) = maxval(abs(unew - u(1:cells)))
     local(2) = sum(unew)
     u(1:cells) = unew
     call mpi_allreduce(local(1), global(1), 1, MPI_DOUBLE_PRECISION, MPI_MAX, MPI_COMM_WORLD, ierr)
     call mpi_allreduce(local(2), global(2), 1, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)
     ! Every rank calls the same logs: an inert rank's calls return at once.
     call residual_m%log(global(1), step=it)
     call energy_m%log(global(2), step=it)
     call local_m%log(local(1), step=it)

     if (it == stop_at) stat = int(c_raise(sigterm))  ! what the scheduler does at the time limit
     if (stop_at >= 0 .and. it >= stop_at) then
        do while (mltrack_termination_signal() == 0)  ! the handler ends and flushes the run, then says so
        end do
     end if
     if (mltrack_termination_signal() /= 0) then
        open (newunit=unit, file=checkpoint, access="stream", form="unformatted", status="replace", action="write")
        write (unit) it + 1, u
        close (unit)
        if (rank == 0) print '(a, i0, a)', "fortran_mpi: preempted after step ", it, "; checkpoint written"
        exit
     end if
  end do

  if (mltrack_termination_signal() == 0) then
     call run%summary("final/energy", global(2))
     call run%summary("final/residual", global(1))
     call run%end(MLTRACK_STATE_COMPLETE)
     open (newunit=unit, file=checkpoint, status="old", iostat=stat)
     if (stat == 0) close (unit, status="delete")
     if (rank == 0) print '(a, i0, a, es10.3)', "fortran_mpi: ", steps, " steps done, residual ", global(1)
  end if
  call mltrack_termination_remove()
  call tracker%close()
  call mpi_finalize(ierr)

contains

  !> Swaps the edge cells with the neighbouring ranks (the rod's two ends are held at 0).
  subroutine exchange_halo()
    integer :: left, right, status(MPI_STATUS_SIZE)
    left = rank - 1
    right = rank + 1
    if (left < 0) left = MPI_PROC_NULL
    if (right >= world) right = MPI_PROC_NULL
    call mpi_sendrecv(u(cells), 1, MPI_DOUBLE_PRECISION, right, 0, u(0), 1, MPI_DOUBLE_PRECISION, left, 0, &
                      MPI_COMM_WORLD, status, ierr)
    call mpi_sendrecv(u(1), 1, MPI_DOUBLE_PRECISION, left, 1, u(cells + 1), 1, MPI_DOUBLE_PRECISION, right, 1, &
                      MPI_COMM_WORLD, status, ierr)
    if (rank == 0) u(0) = 0
    if (rank == world - 1) u(cells + 1) = 0
  end subroutine exchange_halo

end program fortran_mpi
